/**
 * Maps an upstream request (method + path below the configured upstream base)
 * to the API it calls. Matching is by path suffix because the same API lives
 * under different prefixes: `/v1/…` at OpenAI, vLLM and Ollama,
 * `/openai/deployments/{deployment}/…` and `/openai/v1/…` at Azure, and no
 * prefix at all when the configured base already ends in `/v1`.
 */
import { boundedMemo } from '../../../shared/bounded-memo';
import type { Endpoint, WireFormat } from './types';

const OPENAI_SUFFIXES: ReadonlyArray<readonly [suffix: readonly string[], endpoint: Endpoint]> = [
  // Longest first: `/chat/completions` also ends in `/completions`.
  [['chat', 'completions'], 'chat.completions'],
  [['completions'], 'completions'],
  [['embeddings'], 'embeddings'],
  // Only creation; `/responses/{id}` (retrieve, cancel, input_items) is bookkeeping.
  [['responses'], 'responses'],
];

export function classifyEndpoint(wire: WireFormat, method: string, path: string): Endpoint {
  if (method !== 'POST' && method.toUpperCase() !== 'POST') return 'other';
  return (wire === 'anthropic' ? classifyAnthropicPost : classifyOpenAiPost)(path);
}

// Paths come from clients: bounded. Most calls repeat a few, and splitting one was ~0.7% of the gateway's CPU.
const classifyAnthropicPost = boundedMemo(1_000, (path: string) => classifyPost('anthropic', path));
const classifyOpenAiPost = boundedMemo(1_000, (path: string) => classifyPost('openai', path));

function classifyPost(wire: WireFormat, path: string): Endpoint {
  const segments = pathSegments(path);
  if (wire === 'anthropic') return isAnthropicMessages(segments) ? 'messages' : 'other';
  for (const [suffix, endpoint] of OPENAI_SUFFIXES) {
    if (endsWithSegments(segments, suffix)) return endpoint;
  }
  return 'other';
}

/**
 * The deployment name in an Azure OpenAI deployment-scoped path, e.g.
 * `/openai/deployments/gpt4o-prod/chat/completions?api-version=…` → `gpt4o-prod`.
 * Azure requests carry no `model` in the body, so this is the only model hint.
 */
export function azureDeploymentFromPath(path: string): string | null {
  const segments = pathSegments(path);
  for (let i = 0; i + 2 < segments.length; i++) {
    if (segments[i] === 'openai' && segments[i + 1] === 'deployments') {
      const deployment = segments[i + 2];
      if (deployment === undefined || deployment === '') return null;
      return safeDecode(deployment);
    }
  }
  return null;
}

/**
 * `/v1/messages` creates a message; `/v1/messages/count_tokens` and
 * `/v1/messages/batches…` end differently and stay `other`. A bare `/messages`
 * is accepted for upstream bases configured with the `/v1` already in them.
 */
function isAnthropicMessages(segments: readonly string[]): boolean {
  if (segments[segments.length - 1] !== 'messages') return false;
  return segments.length === 1 || segments[segments.length - 2] === 'v1';
}

function pathSegments(path: string): string[] {
  const end = path.search(/[?#]/);
  const pathname = end === -1 ? path : path.slice(0, end);
  // Empty segments (leading, trailing or doubled slashes) carry no meaning here.
  return pathname.split('/').filter((segment) => segment !== '');
}

function endsWithSegments(segments: readonly string[], suffix: readonly string[]): boolean {
  if (segments.length < suffix.length) return false;
  const offset = segments.length - suffix.length;
  return suffix.every((segment, i) => segments[offset + i] === segment);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
