/**
 * What the dashboard shares about measures; each pipeline's own measures live with its pages
 * (web/src/pipelines/<name>/).
 */

export interface MeasureInfo {
  label: string;
  unit: string;
  decimals: number;
}

/** "Temperature (°C)" for an axis name. */
export function axisLabel(label: string, unit: string): string {
  return unit ? `${label} (${unit})` : label;
}
