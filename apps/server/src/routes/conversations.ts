// Conversation management over REST: list, create, read, rename, delete, clear, search.
import { z } from "zod";
import { Conversation, ConversationSummary, Message, SearchResult, rest } from "@tutor/protocol";
import { IdParams, publish, requireUser, secured, userId, type RoutePlugin } from "./common.js";

export const conversationRoutes: RoutePlugin = async (app, { ctx }) => {
  const signedIn = requireUser(ctx);
  app.get(
    "/api/conversations",
    {
      preHandler: signedIn,
      schema: {
        ...secured,
        querystring: rest.listQuery,
        response: { 200: z.object({ conversations: z.array(ConversationSummary), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const page = await ctx.conversations.list(userId(req), {
        limit: req.query.limit,
        cursor: req.query.cursor,
        teachingMode: req.query.teaching_mode,
      });
      return { conversations: page.conversations, next_cursor: page.nextCursor };
    },
  );
  app.get(
    "/api/search",
    {
      preHandler: signedIn,
      schema: { ...secured, querystring: rest.searchQuery, response: { 200: z.object({ query: z.string(), results: z.array(SearchResult) }) } },
    },
    async (req) => ({
      query: req.query.q,
      results: await ctx.conversations.search(userId(req), req.query.q, { limit: req.query.limit, teachingMode: req.query.teaching_mode }),
    }),
  );
  app.post(
    "/api/conversations",
    {
      preHandler: signedIn,
      schema: { ...secured, body: rest.createConversation.optional(), response: { 201: z.object({ conversation: Conversation }) } },
    },
    async (req, reply) => {
      const c = await ctx.conversations.create(userId(req), req.body?.teaching_mode ?? "teacher");
      return reply.code(201).send({ conversation: await ctx.conversations.get(userId(req), c.id) });
    },
  );
  app.get(
    "/api/conversations/:id",
    {
      preHandler: signedIn,
      schema: { ...secured, params: IdParams, querystring: rest.messagesQuery, response: { 200: z.object({ conversation: Conversation }) } },
    },
    async (req) => ({ conversation: await ctx.conversations.get(userId(req), req.params.id, req.query) }),
  );
  app.get(
    "/api/conversations/:id/messages",
    {
      preHandler: signedIn,
      schema: {
        ...secured,
        params: IdParams,
        querystring: rest.messagesQuery,
        description:
          "One page of messages, oldest first: the newest `limit` (default 100, at most 200) older than the message `before`; `has_more` says whether older ones exist.",
        response: { 200: z.object({ messages: z.array(Message), has_more: z.boolean() }) },
      },
    },
    async (req) => {
      const { messages, has_more } = await ctx.conversations.get(userId(req), req.params.id, req.query);
      return { messages, has_more };
    },
  );
  app.patch(
    "/api/conversations/:id",
    {
      preHandler: signedIn,
      schema: { ...secured, params: IdParams, body: rest.renameConversation, response: { 200: z.object({ conversation: ConversationSummary }) } },
    },
    async (req) => {
      const conversation = await ctx.conversations.rename(userId(req), req.params.id, req.body.title);
      publish(ctx, req, { type: "conversation_updated", conversation });
      return { conversation };
    },
  );
  app.delete(
    "/api/conversations/:id",
    {
      preHandler: signedIn,
      schema: { ...secured, params: IdParams, response: { 200: z.object({ conversation_id: z.string(), current_conversation_id: z.string() }) } },
    },
    async (req) => {
      const { currentConversationId } = await ctx.conversations.delete(userId(req), req.params.id);
      const body = { conversation_id: req.params.id, current_conversation_id: currentConversationId };
      publish(ctx, req, { type: "conversation_deleted", ...body });
      return body;
    },
  );
  app.delete(
    "/api/conversations",
    {
      preHandler: signedIn,
      schema: {
        ...secured,
        querystring: rest.clearQuery,
        response: { 200: z.object({ teaching_mode: z.string(), deleted_count: z.number(), new_conversation_id: z.string() }) },
      },
    },
    async (req) => {
      const mode = req.query.teaching_mode;
      const { deletedCount, conversation } = await ctx.conversations.clear(userId(req), mode);
      const body = { teaching_mode: mode, deleted_count: deletedCount, new_conversation_id: conversation.id };
      publish(ctx, req, { type: "conversations_cleared", ...body });
      return body;
    },
  );
};
