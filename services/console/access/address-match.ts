import { BlockList, isIP } from 'node:net';

/**
 * Addresses and CIDR blocks (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`), matched
 * with node's BlockList. A peer seen as an IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`, as a dual-stack socket reports it) matches its IPv4 form.
 */

export interface AddressBlock {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export function parseAddressBlock(text: string): AddressBlock | null {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return null;
  return { address, prefix: Number(prefixText), family };
}

/** The IPv4 form of an IPv4-mapped IPv6 address; others unchanged. */
export function normalizeAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

export class AddressMatcher {
  private readonly list = new BlockList();

  constructor(blocks: readonly string[]) {
    for (const text of blocks) {
      const b = parseAddressBlock(text);
      if (!b) throw new Error(`not an IP address or CIDR block: ${JSON.stringify(text)}`);
      this.list.addSubnet(b.address, b.prefix, b.family);
    }
  }

  matches(address: string | undefined): boolean {
    if (!address) return false;
    const a = normalizeAddress(address);
    const version = isIP(a);
    return version !== 0 && this.list.check(a, version === 4 ? 'ipv4' : 'ipv6');
  }
}
