// The JWT secret: JWT_SECRET, else one generated once and kept in DATA_DIR
// with mode 0600 so tokens survive restarts.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const SECRET_FILE = "jwt-secret";

export async function loadJwtSecret(configured: string | undefined, dataDir: string): Promise<Uint8Array> {
  if (configured) return new TextEncoder().encode(configured);
  const file = join(dataDir, SECRET_FILE);
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing.length >= 43) {
      await chmod(file, 0o600); // repair a copied file's mode
      return new TextEncoder().encode(existing);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString("base64url");
  // 'wx': if another instance raced us, keep theirs.
  try {
    await writeFile(file, secret + "\n", { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return loadJwtSecret(undefined, dataDir);
    throw err;
  }
  return new TextEncoder().encode(secret);
}
