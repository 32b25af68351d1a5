import { azureDeploymentFromPath, classifyEndpoint } from './endpoint';
import type { Endpoint } from './types';

describe('classifyEndpoint (openai wire)', () => {
  const cases: Array<[method: string, path: string, expected: Endpoint]> = [
    ['POST', '/v1/chat/completions', 'chat.completions'],
    ['POST', '/chat/completions', 'chat.completions'],
    ['post', '/v1/chat/completions', 'chat.completions'],
    ['POST', '/v1/chat/completions/', 'chat.completions'],
    ['POST', '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', 'chat.completions'],
    ['POST', '/openai/v1/chat/completions?api-version=preview', 'chat.completions'],
    ['POST', '/v1/completions', 'completions'],
    ['POST', '/openai/deployments/instruct/completions?api-version=2024-10-21', 'completions'],
    ['POST', '/v1/embeddings', 'embeddings'],
    ['POST', '/openai/deployments/embed-small/embeddings?api-version=2024-10-21', 'embeddings'],
    ['POST', '/api/v1/embeddings', 'embeddings'],
    ['POST', '/v1/responses', 'responses'],
    ['POST', '/openai/v1/responses?api-version=preview', 'responses'],
    ['POST', '/v1/responses/resp_123/cancel', 'other'],
    ['POST', '/v1/responses/resp_123', 'other'],
    ['POST', '/v1/responses/input_tokens', 'other'],
    ['GET', '/v1/responses', 'other'],
    ['GET', '/v1/chat/completions', 'other'],
    ['POST', '/v1/chat/completions/chatcmpl-abc', 'other'],
    ['GET', '/v1/models', 'other'],
    ['POST', '/v1/audio/transcriptions', 'other'],
    ['POST', '/v1/text-completions', 'other'],
    ['POST', '/v1/messages', 'other'],
    ['POST', '', 'other'],
  ];
  it.each(cases)('%s %s → %s', (method, path, expected) => {
    expect(classifyEndpoint('openai', method, path)).toBe(expected);
  });
});

describe('classifyEndpoint (anthropic wire)', () => {
  const cases: Array<[method: string, path: string, expected: Endpoint]> = [
    ['POST', '/v1/messages', 'messages'],
    ['POST', '/v1/messages?beta=true', 'messages'],
    ['POST', '/messages', 'messages'],
    ['POST', '/anthropic/v1/messages', 'messages'],
    ['POST', '/v1/messages/count_tokens', 'other'],
    ['POST', '/v1/messages/batches', 'other'],
    ['GET', '/v1/messages/batches/msgbatch_01/results', 'other'],
    ['GET', '/v1/messages', 'other'],
    ['POST', '/v1/complete', 'other'],
    ['POST', '/v1/chat/completions', 'other'],
    ['POST', '/v2/something/messages', 'other'],
  ];
  it.each(cases)('%s %s → %s', (method, path, expected) => {
    expect(classifyEndpoint('anthropic', method, path)).toBe(expected);
  });
});

describe('azureDeploymentFromPath', () => {
  it('extracts the deployment name', () => {
    expect(azureDeploymentFromPath('/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21')).toBe(
      'gpt4o-prod',
    );
    expect(azureDeploymentFromPath('/openai/deployments/embed%20small/embeddings')).toBe('embed small');
  });

  it('returns null for paths without a deployment', () => {
    expect(azureDeploymentFromPath('/openai/v1/chat/completions')).toBeNull();
    expect(azureDeploymentFromPath('/v1/chat/completions')).toBeNull();
    expect(azureDeploymentFromPath('/openai/deployments/')).toBeNull();
    expect(azureDeploymentFromPath('/openai/deployments?x=1')).toBeNull();
  });

  it('keeps a malformed escape as written', () => {
    expect(azureDeploymentFromPath('/openai/deployments/bad%zz/chat/completions')).toBe('bad%zz');
  });
});
