/**
 * Stable error codes. Part of the API: a code is never renamed or reused, new ones are appended
 * (docs/design/telemetry.md holds the table). Every one of them is a programming error found at
 * registration or in tests: observations never throw for what they observe, only for being
 * called wrongly (wrong number of label values, a counter going down).
 */
export const TelemetryErrorCode = {
  /** A metric name outside the Prometheus grammar, with a colon, or with the wrong suffix for its type. */
  NameInvalid: 'TELEMETRY_NAME_INVALID',
  /** A label name outside the grammar, reserved (`__*`, `le` on a histogram), repeated, or too many. */
  LabelInvalid: 'TELEMETRY_LABEL_INVALID',
  /** HELP text empty or longer than help_chars_max. */
  HelpInvalid: 'TELEMETRY_HELP_INVALID',
  /** A metric (or one of the sample names it exposes) is already registered. */
  Duplicate: 'TELEMETRY_DUPLICATE',
  /** Histogram bounds not finite, not strictly increasing, empty, or more than buckets_max. */
  BucketsInvalid: 'TELEMETRY_BUCKETS_INVALID',
  /** A limit (series_max, metrics_max, ...) is not an integer in its allowed range. */
  LimitInvalid: 'TELEMETRY_LIMIT_INVALID',
  /** More metrics than the registry's metrics_max. */
  RegistryFull: 'TELEMETRY_REGISTRY_FULL',
  /** Label values given in the wrong number or not as strings. */
  LabelValuesInvalid: 'TELEMETRY_LABEL_VALUES_INVALID',
  /** A counter increment that is negative or NaN. */
  ValueInvalid: 'TELEMETRY_VALUE_INVALID',
  /** Options that contradict each other (a read callback on a labelled metric). */
  OptionsInvalid: 'TELEMETRY_OPTIONS_INVALID',
} as const;

export type TelemetryErrorCode = (typeof TelemetryErrorCode)[keyof typeof TelemetryErrorCode];

/** Every failure of this package: a stable `code` to branch on, a message for people. */
export class TelemetryError extends Error {
  override readonly name = 'TelemetryError';
  readonly code: TelemetryErrorCode;

  constructor(code: TelemetryErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}
