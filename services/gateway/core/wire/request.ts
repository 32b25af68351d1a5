/**
 * Reads what the gateway needs from a client request body: the requested
 * model, whether it streams, and the prompt text (only used to estimate tokens
 * when the provider reports none, so completeness matters more than structure).
 */
import { arrayOrEmpty, isObject, nonEmptyStringOrNull, type JsonObject } from './json-value';
import type { Endpoint, ParsedRequest } from './types';

export function parseRequest(endpoint: Endpoint, body: unknown): ParsedRequest {
  if (!isObject(body)) {
    return { model: null, stream: false, includeUsage: false, promptText: '' };
  }
  const streamOptions = body.stream_options;
  return {
    model: nonEmptyStringOrNull(body.model),
    stream: body.stream === true,
    includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
    promptText: collectPromptTexts(endpoint, body).filter((text) => text !== '').join('\n'),
  };
}

function collectPromptTexts(endpoint: Endpoint, body: JsonObject): string[] {
  switch (endpoint) {
    case 'chat.completions':
      return chatMessagesTexts(body.messages);
    case 'completions':
      return stringOrStringArray(body.prompt);
    case 'embeddings':
      // Token-id arrays (number[] / number[][]) are already tokens; they add no text.
      return stringOrStringArray(body.input);
    case 'responses':
      return [...stringOrStringArray(body.instructions), ...responsesInputTexts(body.input)];
    case 'messages':
      return [...anthropicContentTexts(body.system), ...anthropicMessagesTexts(body.messages)];
    case 'other':
      return [];
  }
}

function stringOrStringArray(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return arrayOrEmpty(value).filter((item): item is string => typeof item === 'string');
}

/** Chat content is a string or an array of parts; only text parts carry prompt text. */
function chatContentTexts(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  const texts: string[] = [];
  for (const part of arrayOrEmpty(content)) {
    if (isObject(part) && part.type === 'text' && typeof part.text === 'string') {
      texts.push(part.text);
    }
  }
  return texts;
}

function chatMessagesTexts(messages: unknown): string[] {
  const texts: string[] = [];
  for (const message of arrayOrEmpty(messages)) {
    if (!isObject(message)) continue;
    texts.push(...chatContentTexts(message.content));
    // Earlier assistant tool calls are replayed to the model and billed as prompt.
    for (const call of arrayOrEmpty(message.tool_calls)) {
      const fn = isObject(call) ? call.function : undefined;
      if (isObject(fn)) texts.push(...stringOrStringArray(fn.name), ...stringOrStringArray(fn.arguments));
    }
    const legacyCall = message.function_call;
    if (isObject(legacyCall)) texts.push(...stringOrStringArray(legacyCall.arguments));
  }
  return texts;
}

/**
 * Responses `input` is a string or a list of items: messages (content string or
 * `input_text` / `output_text` parts), replayed `function_call`s and their
 * `function_call_output`s.
 */
function responsesInputTexts(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  const texts: string[] = [];
  for (const item of arrayOrEmpty(input)) {
    if (!isObject(item)) continue;
    const content = item.content;
    if (typeof content === 'string') texts.push(content);
    for (const part of arrayOrEmpty(content)) {
      if (!isObject(part)) continue;
      const type = part.type;
      if ((type === 'input_text' || type === 'output_text') && typeof part.text === 'string') {
        texts.push(part.text);
      }
    }
    if (item.type === 'function_call') texts.push(...stringOrStringArray(item.arguments));
    if (item.type === 'function_call_output') texts.push(...stringOrStringArray(item.output));
  }
  return texts;
}

/** Anthropic `system` and message `content` are a string or a list of content blocks. */
function anthropicContentTexts(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  const texts: string[] = [];
  for (const block of arrayOrEmpty(content)) {
    if (!isObject(block)) continue;
    switch (block.type) {
      case 'text':
        texts.push(...stringOrStringArray(block.text));
        break;
      case 'tool_result':
        texts.push(...anthropicContentTexts(block.content));
        break;
      case 'tool_use':
        if (block.input !== undefined) texts.push(JSON.stringify(block.input));
        break;
      default:
        break;
    }
  }
  return texts;
}

function anthropicMessagesTexts(messages: unknown): string[] {
  const texts: string[] = [];
  for (const message of arrayOrEmpty(messages)) {
    if (isObject(message)) texts.push(...anthropicContentTexts(message.content));
  }
  return texts;
}
