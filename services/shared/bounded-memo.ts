/**
 * Memoizes a one-argument pure function for hot paths. Keys may come from
 * clients (model names, Azure resource names), so the cache forgets
 * everything once it holds `maxKeys`, rather than growing without bound.
 */
export function boundedMemo<K, V>(maxKeys: number, compute: (key: K) => V): (key: K) => V {
  const cache = new Map<K, V>();
  return (key) => {
    if (cache.has(key)) return cache.get(key) as V;
    const value = compute(key);
    if (cache.size >= maxKeys) cache.clear();
    cache.set(key, value);
    return value;
  };
}
