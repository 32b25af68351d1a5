import type { InferenceEvent } from '../../../shared/event/inference-event';
import { modelOf, servedModelOf } from '../../../shared/event/model-identity';
import { ApiError, getJson } from './api';
import { compact, dateTime, el, ms, statusClass, usd } from './format';

/** One call: messages, answer and tool calls, timings, usage, cost, tags, status. */

type Event = InferenceEvent;

interface Message {
  role: string;
  text: string;
  toolCalls: string | null;
}

function partText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content, null, 2);
  return content
    .map((p: { type?: string; text?: string; content?: unknown; input?: unknown; name?: string }) => {
      if (typeof p.text === 'string') return p.text;
      if (p.type === 'tool_use') return `[tool_use ${p.name ?? ''}] ${JSON.stringify(p.input)}`;
      if (p.type === 'tool_result') return `[tool_result] ${partText(p.content)}`;
      if (p.type === 'image_url' || p.type === 'image') return '[image]';
      return JSON.stringify(p);
    })
    .join('\n');
}

/** Messages of an OpenAI chat / responses or Anthropic messages request body. */
export function requestMessages(body: string | null): Message[] | null {
  if (!body) return null;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return [{ role: 'request', text: body, toolCalls: null }];
  }
  const out: Message[] = [];
  if (json.system !== undefined) out.push({ role: 'system', text: partText(json.system), toolCalls: null });
  if (typeof json.instructions === 'string') out.push({ role: 'instructions', text: json.instructions, toolCalls: null });
  const list = Array.isArray(json.messages) ? json.messages : Array.isArray(json.input) ? json.input : null;
  if (list) {
    for (const m of list as { role?: string; content?: unknown; tool_calls?: unknown }[]) {
      out.push({ role: m.role ?? 'item', text: partText(m.content), toolCalls: m.tool_calls ? JSON.stringify(m.tool_calls, null, 2) : null });
    }
  } else if (typeof json.input === 'string' || typeof json.prompt === 'string') {
    out.push({ role: 'user', text: String(json.input ?? json.prompt), toolCalls: null });
  }
  return out.length ? out : [{ role: 'request', text: JSON.stringify(json, null, 2), toolCalls: null }];
}

function kv(pairs: [string, string | Node][]): HTMLElement {
  return el('dl', { class: 'kv' }, ...pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

export async function renderDetail(root: HTMLElement, id: string): Promise<void> {
  let e: Event;
  try {
    e = await getJson<Event>(`/api/requests/${encodeURIComponent(id)}`);
  } catch (err) {
    root.replaceChildren(el('div', { class: 'card empty' }, err instanceof ApiError && err.status === 404 ? `No call ${id} (yet).` : (err as Error).message));
    return;
  }
  const model = modelOf(e) ?? '–';
  const served = servedModelOf(e);
  const status = el('span', { class: `pill ${statusClass(e.http_status, e.error_class)}` }, e.error_class ?? String(e.http_status ?? '–'));
  const messages = requestMessages(e.request_body);
  const conversation = el('section', { class: 'card conversation' }, el('h3', {}, 'Conversation'));
  if ((e as Event & { bodies_withheld?: boolean }).bodies_withheld) {
    conversation.append(el('div', { class: 'empty', id: 'bodies-withheld' }, 'Prompts and answers are not shown to your role (viewer): reading them needs the auditor role.'));
  } else if (!e.body_captured) conversation.append(el('div', { class: 'empty' }, 'Bodies were not captured for this call (sampling or x-llm-sample: 0).'));
  for (const m of messages ?? []) {
    conversation.append(
      el('div', { class: `msg role-${m.role}` }, el('div', { class: 'role' }, m.role), el('pre', {}, m.text), m.toolCalls ? el('pre', { class: 'tool' }, m.toolCalls) : null),
    );
  }
  if (e.response_text !== null || e.tool_calls) {
    conversation.append(
      el(
        'div',
        { class: 'msg role-assistant answer-msg' },
        el('div', { class: 'role' }, `assistant (answer${e.finish_reason ? `, ${e.finish_reason}` : ''})`),
        el('pre', {}, e.response_text ?? ''),
        e.tool_calls ? el('pre', { class: 'tool' }, prettyJson(e.tool_calls)) : null,
      ),
    );
  }
  if (e.body_truncated) conversation.append(el('div', { class: 'dim' }, 'Bodies were cut at LLM_LOGGER_CAPTURE_MAX_BYTES.'));
  const tags = Object.entries(e.tags);
  root.replaceChildren(
    el(
      'div',
      { class: 'detail-head' },
      el('a', { href: '#/live' }, '← live'),
      el('h2', {}, model, ' ', status),
      el('div', { class: 'dim mono' }, e.event_id),
    ),
    el(
      'div',
      { class: 'detail' },
      conversation,
      el(
        'aside',
        {},
        el(
          'section',
          { class: 'card' },
          el('h3', {}, 'Call'),
          kv([
            ['model', e.request_model ?? '– (none in the request)'],
            ['served model', served ?? '– (no answer)'],
            ['upstream', `${e.upstream} (${e.provider})`],
            ['endpoint', `${e.endpoint} · ${e.method} ${e.path}`],
            ['streamed', e.streamed ? 'yes' : 'no'],
            ['status', String(e.http_status ?? '–')],
            ...(e.error_class ? ([['error', `${e.error_class}${e.error_type ? ` / ${e.error_type}` : ''}: ${e.error_message ?? ''}`]] as [string, string][]) : []),
            ...(e.client_cancelled ? ([['cancelled', 'by the client']] as [string, string][]) : []),
            ['gateway', e.gateway_instance],
          ]),
        ),
        el(
          'section',
          { class: 'card' },
          el('h3', {}, 'Timings'),
          kv([
            ['started', dateTime(e.started_at)],
            ['first token', dateTime(e.first_token_at)],
            ['ended', dateTime(e.ended_at)],
            ['latency', ms(e.latency_ms)],
            ['time to first token', ms(e.ttft_ms)],
          ]),
        ),
        el(
          'section',
          { class: 'card' },
          el('h3', {}, 'Usage and cost'),
          kv([
            ['input tokens', compact(e.usage.input_tokens)],
            ['output tokens', compact(e.usage.output_tokens)],
            ['cached input', compact(e.usage.cached_input_tokens)],
            ['reasoning', compact(e.usage.reasoning_tokens)],
            ['usage from', e.usage.source],
            ['cost', e.cost_micro_usd === null ? '–' : usd(e.cost_micro_usd / 1e6)],
            ['price version', e.price_version ?? '–'],
          ]),
        ),
        el(
          'section',
          { class: 'card' },
          el('h3', {}, 'Who and tags'),
          kv([
            ['user', e.user ?? '–'],
            ['app', e.app ?? '–'],
            ['session', e.session ?? '–'],
            ['trace id', e.trace_id ?? '–'],
            ...tags.map(([k, v]) => [`tag ${k}`, v] as [string, string]),
          ]),
        ),
      ),
    ),
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
