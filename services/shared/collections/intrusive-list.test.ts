import { IntrusiveList, ListNode } from './intrusive-list';

class Item extends ListNode<Item> {
  constructor(readonly id: number) {
    super();
  }
}

const ids = (list: IntrusiveList<Item>): number[] => {
  const out: number[] = [];
  for (let n = list.first; n !== null; n = n.next) out.push(n.id);
  return out;
};

describe('IntrusiveList', () => {
  test('keeps insertion order; removes from the head, middle and tail', () => {
    const list = new IntrusiveList<Item>();
    const items = [1, 2, 3, 4, 5].map((i) => new Item(i));
    for (const item of items) list.add(item);
    expect(ids(list)).toEqual([1, 2, 3, 4, 5]);
    list.remove(items[0]!);
    list.remove(items[2]!);
    list.remove(items[4]!);
    expect(ids(list)).toEqual([2, 4]);
    expect(list.size).toBe(2);
    expect(items[2]!.prev).toBeNull();
    expect(items[2]!.next).toBeNull();
  });

  test('adding twice or removing what is not in it changes nothing', () => {
    const list = new IntrusiveList<Item>();
    const a = new Item(1);
    list.add(a);
    list.add(a);
    list.remove(new Item(2));
    expect(ids(list)).toEqual([1]);
    list.remove(a);
    list.remove(a);
    expect(list.size).toBe(0);
    expect(list.first).toBeNull();
  });

  test('an element can be removed while iterating, reading next first; clear empties it', () => {
    const list = new IntrusiveList<Item>();
    for (let i = 1; i <= 4; i++) list.add(new Item(i));
    for (let n = list.first; n !== null; ) {
      const next = n.next;
      if (n.id % 2 === 0) list.remove(n);
      n = next;
    }
    expect(ids(list)).toEqual([1, 3]);
    list.clear();
    expect(list.size).toBe(0);
    expect(ids(list)).toEqual([]);
  });
});
