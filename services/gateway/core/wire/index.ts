/**
 * Entry points of the wire layer: pick the parser for an endpoint so callers
 * never switch on endpoints themselves.
 */
import { createMessagesAccumulator, parseMessage } from './anthropic-messages';
import { createGenericAccumulator, parseGenericResponse } from './generic-response';
import { createChatCompletionAccumulator, parseChatCompletion } from './openai-chat';
import { createCompletionAccumulator, parseCompletion } from './openai-completions';
import { createEmbeddingsAccumulator, parseEmbeddings } from './openai-embeddings';
import { createResponsesAccumulator, parseResponsesResponse } from './openai-responses';
import { TextBudget } from './text-budget';
import type { Endpoint, ParsedResponse, StreamAccumulator, WireFormat } from './types';

export type * from './types';
export { classifyEndpoint, azureDeploymentFromPath } from './endpoint';
export { parseErrorBody } from './error-body';
export { emptyParsedResponse } from './parsed-response';
export { parseRequest } from './request';
export { createSseParser, parseSseText, type SseParser, type SseParserOptions } from './sse-parser';
export { createUsageStripper, injectIncludeUsage, type UsageStripper } from './usage-injection';
export { rejectionKinds, type RejectionKind } from './usage-normalize';
export { clipText, TextBudget } from './text-budget';

/** Parses a non-streamed response body (the result of `JSON.parse`, or undefined when it was not JSON). */
export function parseResponseBody(endpoint: Endpoint, wire: WireFormat, json: unknown): ParsedResponse {
  switch (endpoint) {
    case 'chat.completions':
      return parseChatCompletion(json);
    case 'completions':
      return parseCompletion(json);
    case 'embeddings':
      return parseEmbeddings(json);
    case 'responses':
      return parseResponsesResponse(json);
    case 'messages':
      return parseMessage(json);
    case 'other':
      return parseGenericResponse(wire, json);
  }
}

/** A fresh accumulator for one streamed response; `budget` bounds the text and entries it keeps. */
export function createStreamAccumulator(endpoint: Endpoint, wire: WireFormat, budget = new TextBudget()): StreamAccumulator {
  switch (endpoint) {
    case 'chat.completions':
      return createChatCompletionAccumulator(budget);
    case 'completions':
      return createCompletionAccumulator(budget);
    case 'embeddings':
      return createEmbeddingsAccumulator();
    case 'responses':
      return createResponsesAccumulator(budget);
    case 'messages':
      return createMessagesAccumulator(budget);
    case 'other':
      return createGenericAccumulator(wire);
  }
}
