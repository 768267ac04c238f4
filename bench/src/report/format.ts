// How the report prints values and ratios (shared by the markdown report and the README section).

export function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  switch (unit) {
    case 'ms':
      return value >= 100 ? value.toFixed(0) : value.toFixed(1);
    case 's':
      return value >= 100 ? value.toFixed(0) : value.toFixed(2);
    case 'requests':
      return value.toFixed(0);
    default:
      return value >= 1000 ? value.toFixed(0) : value.toFixed(1);
  }
}

export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '–';
  return ratio >= 10 ? `${ratio.toFixed(0)}×` : `${ratio.toFixed(2)}×`;
}
