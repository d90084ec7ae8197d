// PostgreSQL search (account.ts's searchMessages on that dialect): which of
// two plans answers a query, chosen by the store from the database's own
// statistics, and the two statements.
//
// The planner cannot be trusted with the choice between the GIN index and a
// newest-first walk (a prefix query's selectivity is a guess): one estimate
// too high walks every message for a rare word, one too low sorts every
// match of a common one. So the store decides. It reads the lexeme
// frequencies ANALYZE keeps for `messages.search` (pg_stats'
// most_common_elems, refreshed in the background every few minutes) and
// estimates how often the query matches:
// - often enough that the newest `recentMessages` messages should hold
//   `limit` hits: walk them first, ask the index only if they did not
//   (walkThenIndex);
// - rarer (a word in a handful of messages, a typo, a word of the long tail):
//   the walk would almost surely be wasted, so only the index is asked
//   (indexOnly), scoped by `messages.user_id` (migration 006) so no
//   conversation is read before the newest `limit` are known.
// Without statistics (a database never analyzed) the walk comes first, as it
// costs a bounded amount whatever the word.
import { lastIsPrefix, type Logger } from "@tutor/core";
import type { TeachingMode } from "@tutor/protocol";
import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Database } from "./db.js";

export interface HitRow {
  message_id: string;
  content: string;
  timestamp: string;
  conversation_id: string;
  title: string;
  teaching_mode: TeachingMode;
}

/** What ANALYZE knows of the lexemes in `messages.search`. */
export interface LexemeStats {
  /** The most common lexemes and the fraction of messages holding each. */
  readonly frequency: ReadonlyMap<string, number>;
  /** The same lexemes in code-unit order, for a prefix's range (built by lexemeStats). */
  readonly sorted: readonly string[];
  /** The smallest fraction in that list: no lexeme left out of it is more frequent. */
  readonly floor: number;
}

export function lexemeStats(frequency: ReadonlyMap<string, number>, floor: number): LexemeStats {
  return { frequency, sorted: [...frequency.keys()].sort(), floor };
}

/** The index of the first lexeme not before `term` in code-unit order. */
function lowerBound(sorted: readonly string[], term: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < term) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface PgSearchTuning {
  /** Messages of the newest conversations walked before the GIN index is asked. */
  recentMessages: number;
  /** At most this many of the newest conversations in that walk. */
  recentConversations: number;
  /** How long lexeme statistics are used before they are read again (in the background). */
  statsMaxAgeMs: number;
}

/**
 * The estimated fraction of messages matching every term (the last a prefix
 * when `lastIsPrefix`), the terms taken as independent, as PostgreSQL does. A
 * lexeme missing from the list counts as the list's floor, an upper bound; a
 * prefix as the sum of the listed lexemes it begins plus that floor.
 */
export function matchFrequency(stats: LexemeStats, terms: readonly string[]): number {
  const prefix = lastIsPrefix(terms) ? terms.length - 1 : -1;
  let all = 1;
  terms.forEach((term, i) => {
    let f = stats.frequency.get(term) ?? stats.floor;
    if (i === prefix) {
      // Every lexeme beginning with the prefix sorts right after it, together.
      f = stats.floor;
      for (let k = lowerBound(stats.sorted, term); k < stats.sorted.length && stats.sorted[k]!.startsWith(term); k++) f += stats.frequency.get(stats.sorted[k]!)!;
    }
    all *= Math.min(1, f);
  });
  return all;
}

export type SearchPlan = "recent first" | "index only";

/** The plan for a query: the index alone when the newest messages are expected to hold fewer than `limit` hits. */
export function choosePlan(stats: LexemeStats | null, terms: readonly string[], limit: number, recentMessages: number): SearchPlan {
  if (!stats) return "recent first";
  return matchFrequency(stats, terms) * recentMessages < limit ? "index only" : "recent first";
}

export function pgSearcher(db: Kysely<Database>, tuning: PgSearchTuning, logger?: Logger) {
  let stats: LexemeStats | null = null;
  let readAt = -Infinity;
  let reading: Promise<void> | null = null;

  async function readStats(): Promise<void> {
    const { rows } = await sql<{ elems: string[] | null; freqs: number[] | null }>`
      select most_common_elems::text::text[] as elems, most_common_elem_freqs as freqs
      from pg_stats
      where schemaname = current_schema() and tablename = 'messages' and attname = 'search'
    `.execute(db);
    const row = rows[0];
    readAt = performance.now();
    if (!row?.elems || !row.freqs || row.elems.length === 0) {
      stats = null;
      return;
    }
    // The frequencies array ends with the minimum, the maximum and the frequency of nulls.
    const elems = row.elems;
    const freqs = row.freqs.map(Number);
    stats = lexemeStats(new Map(elems.map((e, i) => [e, freqs[i]!])), freqs[elems.length]!);
  }

  /** The statistics, read on first use and again in the background once they are `statsMaxAgeMs` old. */
  async function currentStats(): Promise<LexemeStats | null> {
    const stale = performance.now() - readAt >= tuning.statsMaxAgeMs;
    if (stale && !reading) {
      reading = readStats()
        .catch((err: unknown) => logger?.warn({ err }, "could not read search statistics; searching recent messages first"))
        .finally(() => {
          reading = null;
        });
      if (readAt === -Infinity) await reading;
    }
    return stats;
  }

  async function plan(terms: string[], limit: number): Promise<SearchPlan> {
    return choosePlan(await currentStats(), terms, limit, tuning.recentMessages);
  }

  async function search(userId: string, terms: string[], limit: number, teachingMode: TeachingMode | undefined): Promise<HitRow[]> {
    const head = terms.slice(0, -1);
    const last = terms.at(-1)!;
    const whole = head.length ? sql`and m.search @@ websearch_to_tsquery('simple', ${head.map((t) => `"${t}"`).join(" ")})` : sql``;
    const matches = sql`m.search @@ to_tsquery('simple', ${`'${last}'${lastIsPrefix(terms) ? ":*" : ""}`}) ${whole}`;
    const chosen = await plan(terms, limit);
    const { rows } = await (chosen === "index only" ? indexOnly : walkThenIndex)(userId, matches, limit, teachingMode).execute(db);
    return rows;
  }

  /**
   * The index step's hits with their conversations, each by primary key: a
   * lateral subquery behind `offset 0` is looked up per hit (with a few
   * thousand conversations the planner prefers hashing them all, ~1 ms, to a
   * handful of index lookups).
   */
  const fromIndex = sql`
    select n.id as message_id, n.content, n.created_at as timestamp, c.id as conversation_id, c.title, c.teaching_mode
    from newest n cross join lateral (select c.id, c.title, c.teaching_mode from conversations c where c.id = n.conversation_id offset 0) c`;

  /** The `indexed` and `newest` CTEs of the index step, run only when `gate` holds (a one-time filter). */
  function indexStep(gate: RawBuilder<unknown>, userId: string, matches: RawBuilder<unknown>, limit: number, teachingMode: TeachingMode | undefined) {
    const byMode = teachingMode
      ? sql`and exists (select 1 from conversations c where c.id = m.conversation_id and c.teaching_mode = ${teachingMode})`
      : sql``;
    return sql`
      indexed as materialized (
        select m.id, m.content, m.created_at, m.conversation_id from messages m
        where ${gate} and ${matches} and m.user_id = ${userId} ${byMode}
      ),
      newest as (select * from indexed order by created_at desc, id desc limit ${limit})`;
  }

  /**
   * Every match of the student's from the GIN index (a materialized bitmap
   * scan: there is no ORDER BY for the planner to walk an index for, and the
   * owner is tested on the message row), then the newest `limit`, then their
   * conversations (fromIndex). With a mode filter the conversation is
   * needed before the limit.
   */
  function indexOnly(userId: string, matches: RawBuilder<unknown>, limit: number, teachingMode: TeachingMode | undefined) {
    return sql<HitRow>`
      with ${indexStep(sql`true`, userId, matches, limit, teachingMode)}
      ${fromIndex}
      order by timestamp desc, message_id desc
    `;
  }

  /**
   * One statement, two steps:
   * 1. The student's newest messages, read through their newest conversations
   *    (`conversations_user_updated`, then `messages_conversation_created`):
   *    at most `recentMessages` rows, tested against the tsquery outside an
   *    `offset 0` fence so the planner cannot swap this walk for the GIN
   *    index. A common word is found here at a bounded cost. Every message
   *    outside those conversations is no newer than the newest conversation
   *    left out (`edge`: a message never postdates its conversation's
   *    updated_at), so if the limit-th hit is newer than that, these are the
   *    newest hits of the whole account (`done`).
   * 2. Otherwise the word is rare among the recent messages after all: the
   *    index step of indexOnly, behind a one-time filter so it runs only when
   *    step 1 was not enough.
   */
  function walkThenIndex(userId: string, matches: RawBuilder<unknown>, limit: number, teachingMode: TeachingMode | undefined) {
    const { recentMessages, recentConversations } = tuning;
    const inScope = sql`before < ${recentMessages} and n <= ${recentConversations}`;
    return sql<HitRow>`
      with recent as materialized (
        select id, title, teaching_mode, updated_at,
          sum(message_count) over w - message_count as before,
          row_number() over w as n
        from conversations
        where user_id = ${userId} ${teachingMode ? sql`and teaching_mode = ${teachingMode}` : sql``}
        window w as (order by updated_at desc, id desc)
        order by updated_at desc, id desc
        limit ${recentConversations + 1}
      ),
      edge as (select max(updated_at) as at from recent where not (${inScope})),
      walked as materialized (
        select m.message_id, m.content, m.timestamp, m.conversation_id, m.title, m.teaching_mode
        from (
          select m.id as message_id, m.content, m.created_at as timestamp, m.search, r.id as conversation_id, r.title, r.teaching_mode
          from recent r join messages m on m.conversation_id = r.id
          where ${inScope}
          offset 0
        ) m
        where ${matches}
        order by m.timestamp desc, m.message_id desc
        limit ${limit}
      ),
      done as (
        select (select at from edge) is null
          or ((select count(*) from walked) = ${limit} and (select min(timestamp) from walked) > (select at from edge)) as yes
      ),
      ${indexStep(sql`not (select yes from done)`, userId, matches, limit, teachingMode)}
      select * from walked where (select yes from done)
      union all
      ${fromIndex}
      order by timestamp desc, message_id desc
    `;
  }

  return { search, plan, readStats };
}
