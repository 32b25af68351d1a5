/**
 * `choices[]` handling shared by Chat Completions and legacy Completions.
 */
import { arrayOrEmpty, isObject, numberOrNull, type JsonObject } from './json-value';

export interface IndexedChoice {
  index: number;
  body: JsonObject;
}

/** Choices sorted by their `index` (array position when a server omits it). */
export function choicesInIndexOrder(choices: unknown): IndexedChoice[] {
  const indexed: IndexedChoice[] = [];
  arrayOrEmpty(choices).forEach((choice, position) => {
    if (isObject(choice)) indexed.push({ index: numberOrNull(choice.index) ?? position, body: choice });
  });
  return indexed.sort((a, b) => a.index - b.index);
}
