import { findPrice, loadPriceTable, PriceTableError, type PriceTable } from './price-table';

const builtin = loadPriceTable();

function validOverride(model: string, input = 1) {
  return { provider: 'openai', model, input, output: 2 };
}

function errorOf(run: () => unknown): PriceTableError {
  try {
    run();
  } catch (error) {
    if (error instanceof PriceTableError) return error;
    throw error;
  }
  throw new Error('expected a PriceTableError');
}

describe('loadPriceTable (bundled)', () => {
  it('is versioned by date and in USD per million tokens', () => {
    expect(builtin.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(builtin.currency).toBe('USD');
    expect(builtin.unit).toBe('per_million_tokens');
  });

  it('returns the same table when there are no overrides', () => {
    expect(loadPriceTable()).toBe(builtin);
    expect(loadPriceTable(null)).toBe(builtin);
  });

  it.each([
    'gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-5.1', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano',
    'gpt-4o', 'gpt-4o-mini', 'o1', 'o1-mini', 'o3', 'o3-mini', 'o4-mini', 'gpt-3.5-turbo',
    'gpt-4-turbo', 'text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002',
  ])('prices OpenAI %s', (model) => {
    expect(findPrice(builtin, 'openai', model)?.model).toBe(model);
  });

  it.each([
    'claude-opus-4-5', 'claude-opus-4-1', 'claude-opus-4', 'claude-sonnet-4-5', 'claude-sonnet-4',
    'claude-3-7-sonnet', 'claude-haiku-4-5', 'claude-3-5-haiku', 'claude-3-5-sonnet', 'claude-3-haiku',
    'claude-3-opus',
  ])('prices Anthropic %s with cache read and write prices, 5-minute writes at 1.25× input and 1-hour ones at 2×', (model) => {
    const price = findPrice(builtin, 'anthropic', model);
    expect(price?.model).toBe(model);
    expect(price?.cachedInput).toBeDefined();
    // Claude 3 Haiku is listed at $0.30 for 5-minute writes (1.2×).
    expect(price?.cacheWrite).toBeCloseTo(price!.input * (model === 'claude-3-haiku' ? 1.2 : 1.25), 10);
    expect(price?.cacheWrite1h).toBeCloseTo(price!.input * 2, 10);
  });

  it('has batch at half price for OpenAI, Anthropic and Gemini, and flex at half for OpenAI', () => {
    expect(builtin.providers).toMatchObject({
      openai: { serviceTiers: { batch: { multiplier: 0.5 }, flex: { multiplier: 0.5 } } },
      anthropic: { serviceTiers: { batch: { multiplier: 0.5 } } },
      gemini: { serviceTiers: { batch: { multiplier: 0.5 } } },
    });
  });

  it('cannot be mutated by a caller', () => {
    const price = findPrice(builtin, 'openai', 'gpt-4o');
    expect(Object.isFrozen(price)).toBe(true);
    expect(Object.isFrozen(builtin.models)).toBe(true);
  });
});

describe('findPrice', () => {
  it('matches exact ids case-insensitively', () => {
    expect(findPrice(builtin, 'OpenAI', ' GPT-4o ')).toMatchObject({ model: 'gpt-4o', input: 2.5 });
  });

  it.each([
    ['openai', 'gpt-4o-2024-08-06', 'gpt-4o'],
    ['openai', 'gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['openai', 'o3-mini-2025-01-31', 'o3-mini'],
    ['openai', 'gpt-5-nano-2025-08-07', 'gpt-5-nano'],
    ['anthropic', 'claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['anthropic', 'claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['anthropic', 'claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
    ['anthropic', 'claude-3-5-haiku-latest', 'claude-3-5-haiku'],
  ])('%s %s is priced as %s', (provider, model, family) => {
    expect(findPrice(builtin, provider, model)?.model).toBe(family);
  });

  it('prefers an exact snapshot row over its family', () => {
    expect(findPrice(builtin, 'openai', 'gpt-4o-2024-05-13')).toMatchObject({ input: 5, output: 15 });
  });

  it('resolves aliases, with or without a suffix', () => {
    expect(findPrice(builtin, 'openai', 'gpt-4-0125-preview')?.model).toBe('gpt-4-turbo');
    expect(findPrice(builtin, 'anthropic', 'claude-opus-4-0')?.model).toBe('claude-opus-4');
    expect(findPrice(builtin, 'openai', 'o1-preview-2024-09-12')?.model).toBe('o1');
  });

  it('prices an audio model by its own row, not gpt-4o\'s', () => {
    expect(findPrice(builtin, 'openai', 'gpt-4o-audio-preview-2024-12-17')).toMatchObject({ model: 'gpt-4o-audio-preview', inputAudio: 40 });
  });

  it.each([
    'gpt-4o-realtime-preview',
    'gpt-4o-mini-tts',
    'gpt-4o-nonsense',
    'gpt-5-turbo',
    'o3-deep-research',
    '',
  ])('never guesses a price for %p from a shorter id', (model) => {
    expect(findPrice(builtin, 'openai', model)).toBeNull();
  });

  it('does not price a model under another provider', () => {
    expect(findPrice(builtin, 'anthropic', 'gpt-4o')).toBeNull();
    expect(findPrice(builtin, 'openai', 'claude-3-opus')).toBeNull();
  });

  it('prices Azure from the OpenAI rows, including Azure spellings', () => {
    expect(findPrice(builtin, 'azure', 'gpt-4o-2024-11-20')?.model).toBe('gpt-4o');
    expect(findPrice(builtin, 'azure', 'gpt-35-turbo')?.model).toBe('gpt-3.5-turbo');
  });

  it('returns null for self-hosted providers without overrides', () => {
    expect(findPrice(builtin, 'vllm', 'gpt-4o')).toBeNull();
    expect(findPrice(builtin, 'ollama', 'llama3.1:8b')).toBeNull();
  });

  it('works on a table assembled by hand', () => {
    const table: PriceTable = {
      version: 'test',
      currency: 'USD',
      unit: 'per_million_tokens',
      providers: {},
      models: [{ provider: 'openai', model: 'gpt-x', input: 1, output: 2 }],
    };
    expect(findPrice(table, 'openai', 'gpt-x-2030-01-01')?.model).toBe('gpt-x');
  });
});

describe('loadPriceTable (overrides)', () => {
  it('replaces a built-in row and marks the version with the override label', () => {
    const table = loadPriceTable({ version: 'acme-2026q4', models: [validOverride('gpt-4o', 2)] });
    expect(table.version).toBe(`${builtin.version}+custom:acme-2026q4`);
    expect(findPrice(table, 'openai', 'gpt-4o-2024-08-06')).toMatchObject({ input: 2, output: 2 });
    expect(table.models.filter((m) => m.provider === 'openai' && m.model === 'gpt-4o')).toHaveLength(1);
    // The built-in table is untouched.
    expect(findPrice(builtin, 'openai', 'gpt-4o')?.input).toBe(2.5);
  });

  it('adds self-hosted providers', () => {
    const table = loadPriceTable({
      models: [{ provider: 'vllm', model: 'llama-3.1-8b', aliases: ['meta-llama/Llama-3.1-8B-Instruct'], input: 0.05, output: 0.1 }],
    });
    expect(findPrice(table, 'vllm', 'meta-llama/llama-3.1-8b-instruct')?.model).toBe('llama-3.1-8b');
    expect(findPrice(table, 'vllm', 'gpt-4o')).toBeNull();
  });

  it('lets an Azure override win over the OpenAI row it shadows', () => {
    const table = loadPriceTable({ models: [{ provider: 'azure', model: 'gpt-4o', input: 2.75, output: 11 }] });
    expect(findPrice(table, 'azure', 'gpt-4o-2024-08-06')?.input).toBe(2.75);
    expect(findPrice(table, 'openai', 'gpt-4o')?.input).toBe(2.5);
    expect(findPrice(table, 'azure', 'gpt-4o-mini')?.input).toBe(0.15);
  });

  it('lets an override alias take a name from a built-in row', () => {
    const table = loadPriceTable({ models: [{ ...validOverride('my-gateway-model'), aliases: ['gpt-4o'] }] });
    expect(findPrice(table, 'openai', 'gpt-4o')?.model).toBe('my-gateway-model');
  });

  it('labels unnamed overrides with a stable content hash', () => {
    const a = loadPriceTable({ models: [validOverride('gpt-4o', 2)] });
    const reordered = loadPriceTable({ models: [{ output: 2, input: 2, model: 'gpt-4o', provider: 'openai' }] });
    const different = loadPriceTable({ models: [validOverride('gpt-4o', 3)] });
    expect(a.version).toMatch(new RegExp(`^${builtin.version}\\+custom:[0-9a-f]{12}$`));
    expect(reordered.version).toBe(a.version);
    expect(different.version).not.toBe(a.version);
  });

  it('keeps the bundled version when the overrides change nothing', () => {
    expect(loadPriceTable({ models: [] })).toBe(builtin);
    expect(loadPriceTable({ models: [], providers: {} })).toBe(builtin);
  });

  it('accepts tiers, long-context prices and modality prices, and freezes them', () => {
    const table = loadPriceTable({
      version: 'tiers',
      models: [
        {
          provider: 'openai',
          model: 'gpt-x',
          input: 1,
          output: 2,
          inputAudio: 10,
          outputAudio: 20,
          longContext: [{ aboveInputTokens: 100_000, input: 2, output: 3 }],
          serviceTiers: { priority: { input: 2, output: 4, longContext: [{ aboveInputTokens: 100_000, input: 4, output: 6 }] }, flex: { multiplier: 0.5 } },
        },
      ],
    });
    const row = findPrice(table, 'openai', 'gpt-x');
    expect(row).toMatchObject({ inputAudio: 10, serviceTiers: { flex: { multiplier: 0.5 } } });
    expect(Object.isFrozen(row?.serviceTiers?.priority)).toBe(true);
    expect(Object.isFrozen(row?.longContext?.[0])).toBe(true);
    expect(Object.isFrozen(table.providers.openai?.serviceTiers)).toBe(true);
  });

  it.each([
    [{ models: [validOverride('a'), validOverride('b'), validOverride('c'), { ...validOverride('d'), input: '2.5' }] }, 'prices.models[3].input'],
    [{ models: [{ ...validOverride('a'), input: -1 }] }, 'prices.models[0].input'],
    [{ models: [{ ...validOverride('a'), output: Number.POSITIVE_INFINITY }] }, 'prices.models[0].output'],
    [{ models: [{ provider: 'openai', model: 'a', input: 1 }] }, 'prices.models[0].output'],
    [{ models: [{ ...validOverride('a'), model: '  ' }] }, 'prices.models[0].model'],
    [{ models: [{ ...validOverride('a'), cachedinput: 1 }] }, 'prices.models[0].cachedinput'],
    [{ models: [{ ...validOverride('a'), aliases: ['ok', 7] }] }, 'prices.models[0].aliases[1]'],
    [{ models: [validOverride('a'), validOverride('A')] }, 'prices.models[1].model'],
    [{ models: [validOverride('a'), { ...validOverride('b'), aliases: ['a'] }] }, 'prices.models[1].aliases[0]'],
    [{ version: 'has spaces', models: [validOverride('a')] }, 'prices.version'],
    [{ models: [{ ...validOverride('a'), aliases: 'a2' }, validOverride('b')] }, 'prices.models[0].aliases'],
    [{ models: [validOverride('a'), null] }, 'prices.models[1]'],
    [{ models: 'gpt-4o' }, 'prices.models'],
    [{}, 'prices.models'],
    [['gpt-4o'], 'prices'],
    [{ models: [{ ...validOverride('a'), cacheWrite1h: -2 }] }, 'prices.models[0].cacheWrite1h'],
    [{ models: [{ ...validOverride('a'), inputAudio: 'forty' }] }, 'prices.models[0].inputAudio'],
    [{ models: [{ ...validOverride('a'), longContext: [{ aboveInputTokens: 200_000, input: 6 }] }] }, 'prices.models[0].longContext[0].output'],
    [{ models: [{ ...validOverride('a'), longContext: [{ aboveInputTokens: 0, input: 6, output: 9 }] }] }, 'prices.models[0].longContext[0].aboveInputTokens'],
    [
      { models: [{ ...validOverride('a'), longContext: [{ aboveInputTokens: 200_000, input: 6, output: 9 }, { aboveInputTokens: 128_000, input: 5, output: 8 }] }] },
      'prices.models[0].longContext[1].aboveInputTokens',
    ],
    [{ models: [{ ...validOverride('a'), serviceTiers: { flex: { multiplier: 0.5, input: 1 } } }] }, 'prices.models[0].serviceTiers.flex.input'],
    [{ models: [{ ...validOverride('a'), serviceTiers: { priority: { input: 1 } } }] }, 'prices.models[0].serviceTiers.priority.output'],
    [{ models: [{ ...validOverride('a'), serviceTiers: { batch: { multiplier: 0 } } }] }, 'prices.models[0].serviceTiers.batch.multiplier'],
    [{ models: [{ ...validOverride('a'), serviceTiers: { default: { multiplier: 2 } } }] }, 'prices.models[0].serviceTiers.default'],
    [{ models: [{ ...validOverride('a'), serviceTiers: { Flex: { multiplier: 2 } } }] }, 'prices.models[0].serviceTiers.Flex'],
    [{ models: [], providers: { openai: { serviceTiers: { batch: { mutliplier: 0.5 } } } } }, 'prices.providers.openai.serviceTiers.batch.mutliplier'],
    [{ models: [], providers: { openai: { serviceTiers: {}, tiers: {} } } }, 'prices.providers.openai.tiers'],
  ])('rejects %j naming %s', (overrides, path) => {
    const error = errorOf(() => loadPriceTable(overrides));
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
  });

  it('uses the caller’s config path as the root of error paths', () => {
    const error = errorOf(() => loadPriceTable({ models: [{ ...validOverride('a'), input: 'x' }] }, { configPath: 'gateway.prices' }));
    expect(error.path).toBe('gateway.prices.models[0].input');
  });

  it('reports every bad field, not only the first', () => {
    const error = errorOf(() => loadPriceTable({ models: [{ provider: 'openai', model: 'a' }] }));
    expect(error.issues.map((issue) => issue.path)).toEqual(['prices.models[0].input', 'prices.models[0].output']);
  });
});
