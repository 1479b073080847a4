import { ipv4BlocksCover, ipv4CidrPrefix } from '../../lib/private/cidr';

describe('IPv4 blocks', () => {
  test.each([
    ['10.0.0.0/8', 8], ['10.20.4.0/24', 24], ['0.0.0.0/0', 0], ['10.0.0.1/32', 32],
    ['10.0.0.0', undefined], ['10.0.0.256/24', undefined], ['10.0.0.0/33', undefined], ['fd00::/8', undefined],
  ])('%s has prefix %p', (block, prefix) => {
    expect(ipv4CidrPrefix(block)).toBe(prefix);
  });

  test.each([
    ['10.0.0.0/8', '10.0.0.0/16', true], ['0.0.0.0/0', '172.20.0.0/16', true], ['10.0.0.0/16', '10.0.0.0/16', true],
    ['10.0.128.0/27', '10.0.0.0/16', false], ['10.0.0.0/16', '10.0.128.0/27', true], ['10.1.0.0/16', '10.0.0.0/16', false],
    ['172.16.0.0/12', '172.20.0.0/16', true], ['172.16.0.0/13', '172.20.0.0/16', true], ['172.16.0.0/14', '172.20.0.0/16', false],
    ['10.0.0.5/8', '10.9.0.0/16', true], ['not a block', '10.0.0.0/16', false],
  ])('%s holds all of %s: %p', (outer, inner, holds) => {
    expect(ipv4BlocksCover([outer], inner)).toBe(holds);
  });

  test.each<[readonly string[], string, boolean]>([
    [['10.0.0.0/17', '10.0.128.0/17'], '10.0.0.0/16', true], [['10.0.128.0/17', '10.0.0.0/17'], '10.0.0.0/16', true],
    [['10.0.0.0/17', '10.0.192.0/18'], '10.0.0.0/16', false], [['10.0.0.0/18', '10.0.64.0/18', '10.0.128.0/17'], '10.0.0.0/16', true],
    [['9.0.0.0/8', '10.0.0.0/16'], '10.0.0.0/16', true], [[], '10.0.0.0/16', false], [['128.0.0.0/1', '0.0.0.0/1'], '200.0.0.0/8', true],
  ])('%j together hold all of %s: %p', (blocks, inner, covers) => {
    expect(ipv4BlocksCover(blocks, inner)).toBe(covers);
  });
});
