import { decimalsFor, timeLabels, valueLabels } from '../../services/console/web/src/axis-format';

/** The charts' tick labels (pure rules; the browser test checks them drawn, services/console/web/src/charts.ts). */

describe('value tick labels', () => {
  it('small costs: ticks 5 µ$ apart read apart (with five decimals they were "$0.00001" twice)', () => {
    expect(valueLabels('usd', [0, 0.000005, 0.00001, 0.000015], 0.000005)).toEqual(['$0', '$0.000005', '$0.000010', '$0.000015']);
    expect(valueLabels('usd', [0, 0.5, 1, 1.5], 0.5)).toEqual(['$0', '$0.50', '$1.00', '$1.50']);
    expect(valueLabels('usd', [0, 2.5, 5, 7.5], 2.5)).toEqual(['$0', '$2.5', '$5.0', '$7.5']);
    expect(valueLabels('usd', [0, 1000, 2000], 1000)).toEqual(['$0', '$1,000', '$2,000']);
  });

  it('durations switch to seconds past one, with the decimals the step needs', () => {
    expect(valueLabels('ms', [0, 2000, 4000], 2000)).toEqual(['0 ms', '2 s', '4 s']);
    expect(valueLabels('ms', [0, 500, 1000, 1500], 500)).toEqual(['0 ms', '0.5 s', '1.0 s', '1.5 s']);
    expect(valueLabels('ms', [0, 0.5, 1], 0.5)).toEqual(['0 ms', '0.5 ms', '1.0 ms']);
    expect(valueLabels('ms', [0, 50, 100], 50)).toEqual(['0 ms', '50 ms', '100 ms']);
  });

  it('counts and ratios', () => {
    expect(valueLabels('count', [0, 0.2, 0.4], 0.2)).toEqual(['0', '0.2', '0.4']);
    expect(valueLabels('count', [0, 500, 1000, 1500], 500)).toEqual(['0', '500', '1,000', '1,500']);
    expect(valueLabels('count', [0, 5000, 10000, 15000], 5000)).toEqual(['0', '5k', '10k', '15k']);
    expect(valueLabels('count', [0, 2_500_000, 5_000_000], 2_500_000)).toEqual(['0', '2.5M', '5.0M']);
    expect(valueLabels('ratio', [0, 0.5, 1], 0.5)).toEqual(['0%', '50%', '100%']);
    expect(valueLabels('ratio', [0, 0.0025, 0.005], 0.0025)).toEqual(['0%', '0.25%', '0.50%']);
  });

  it('a step that is not round still gets distinct labels', () => {
    const labels = valueLabels('usd', [0, 1 / 3, 2 / 3, 1], 1 / 3);
    expect(new Set(labels).size).toBe(4);
  });

  it('decimalsFor writes the step exactly', () => {
    expect([1, 2.5, 0.25, 0.000005, 5000, 1e-9].map(decimalsFor)).toEqual([0, 1, 2, 6, 0, 9]);
  });
});

describe('time tick labels', () => {
  const at = (y: number, mo: number, d: number, h: number, mi: number) => new Date(y, mo, d, h, mi).getTime() / 1000;

  it('HH:MM on the 24-hour clock, no date within one day', () => {
    expect(timeLabels([at(2026, 0, 5, 10, 45), at(2026, 0, 5, 11, 0), at(2026, 0, 5, 11, 15)], 900)).toEqual(['10:45', '11:00', '11:15']);
  });

  it('the date under the first tick of each day when the range spans days', () => {
    expect(timeLabels([at(2026, 0, 5, 18, 0), at(2026, 0, 5, 21, 0), at(2026, 0, 6, 0, 0), at(2026, 0, 6, 3, 0)], 3 * 3600)).toEqual([
      '18:00\n5 Jan',
      '21:00',
      '00:00\n6 Jan',
      '03:00',
    ]);
  });

  it('daily ticks read D Mon', () => {
    expect(timeLabels([at(2026, 8, 29, 0, 0), at(2026, 8, 30, 0, 0), at(2026, 9, 1, 0, 0)], 86_400)).toEqual(['29 Sep', '30 Sep', '1 Oct']);
  });
});
