// The app's addresses: `/c/<conversation id>` names the conversation shown
// (PROTOCOL.md). Anything else is the app's start page.
const CONVERSATION_PATH = /^\/c\/([^/?#]{1,64})\/?$/;

export function conversationInPath(path: string): string | null {
  const m = CONVERSATION_PATH.exec(path);
  if (!m?.[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

export function conversationPath(id: string): string {
  return `/c/${encodeURIComponent(id)}`;
}
