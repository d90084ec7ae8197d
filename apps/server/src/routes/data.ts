// Export and import: one conversation as Markdown or JSON, the whole account
// as one JSON document (with a version), and that document back into any
// account (new ids, added beside what is there, one transaction).
import { z } from "zod";
import { NotFoundError, type ExportedConversationRecord } from "@tutor/core";
import { EXPORT_VERSION, ExportDocument, MAX_IMPORT_BYTES, rest } from "@tutor/protocol";
import { ErrorBody, IdParams, requireUser, secured, userId, type RoutePlugin } from "./common.js";

const MODE_NAME = { teacher: "Teacher", qa: "Q&A" } as const;

function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A conversation as a Markdown document: answers are Markdown already, so code blocks stay code blocks. */
export function conversationMarkdown(c: ExportedConversationRecord, exportedAt: string): string {
  const out = [
    `# ${c.title}`,
    "",
    `- Mode: ${MODE_NAME[c.teaching_mode]}`,
    `- Started: ${when(c.created_at)}`,
    `- Last message: ${when(c.updated_at)}`,
    `- Exported: ${when(exportedAt)}`,
    "",
  ];
  for (const m of c.messages) {
    out.push("---", "");
    out.push(m.type === "user" ? `## Question · ${when(m.timestamp)}` : `## Answer · ${when(m.timestamp)}${m.model ? ` · model: ${m.model}` : ""}`, "");
    out.push(m.content.trimEnd(), "");
  }
  return out.join("\n");
}

function document(conversations: ExportedConversationRecord[], exportedAt: string, username?: string) {
  return {
    version: EXPORT_VERSION,
    exported_at: exportedAt,
    ...(username ? { user: { username } } : {}),
    conversations,
  };
}

function fileName(title: string, ext: string): string {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "conversation";
  return `${slug}.${ext}`;
}

export const dataRoutes: RoutePlugin = async (app, { ctx }) => {
  const signedIn = requireUser(ctx);
  app.get(
    "/api/conversations/:id/export",
    { preHandler: signedIn, schema: { ...secured, params: IdParams, querystring: rest.exportQuery } },
    async (req, reply) => {
      const [c] = await ctx.store.exportConversations(userId(req), req.params.id);
      if (!c) throw new NotFoundError();
      const at = new Date().toISOString();
      if ((req.query.format ?? "md") === "json") {
        return reply
          .header("content-disposition", `attachment; filename="${fileName(c.title, "json")}"`)
          .type("application/json")
          .serializer(JSON.stringify)
          .send(document([c], at));
      }
      return reply
        .header("content-disposition", `attachment; filename="${fileName(c.title, "md")}"`)
        .type("text/markdown; charset=utf-8")
        .send(conversationMarkdown(c, at));
    },
  );
  app.get("/api/export", { preHandler: signedIn, schema: { ...secured, description: "The whole account as one JSON document (version 1)." } }, async (req, reply) => {
    const conversations = await ctx.store.exportConversations(userId(req));
    const at = new Date().toISOString();
    return reply
      .header("content-disposition", `attachment; filename="cs-tutor-${at.slice(0, 10)}.json"`)
      .type("application/json")
      .serializer(JSON.stringify)
      .send(document(conversations, at, req.auth!.user.username));
  });
  app.post(
    "/api/import",
    {
      preHandler: signedIn,
      bodyLimit: MAX_IMPORT_BYTES,
      schema: {
        ...secured,
        body: ExportDocument,
        response: { 201: z.object({ imported: z.number(), conversation_ids: z.array(z.string()), message_count: z.number() }), "4xx": ErrorBody },
      },
    },
    async (req, reply) => {
      const r = await ctx.store.importConversations(userId(req), req.body.conversations);
      // The student's other tabs (on any instance) re-read their lists.
      if (r.conversationIds.length) ctx.hub.publish(userId(req), { kind: "conversations_imported", userId: userId(req), count: r.conversationIds.length, origin: `rest:${req.id}` });
      return reply.code(201).send({ imported: r.conversationIds.length, conversation_ids: r.conversationIds, message_count: r.messageCount });
    },
  );
};
