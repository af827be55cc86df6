export { TelemetryError, TelemetryErrorCode } from './errors.js';
export { prometheusContentType, formatNumber, escapeLabelValue, escapeHelp } from './format.js';
export { name_chars_max, help_chars_max, labels_max } from './names.js';
export { overflowLabelValue } from './series.js';
export { Counter, Gauge, Histogram, CounterSeries, GaugeSeries, HistogramSeries } from './metrics.js';
export {
  Registry,
  exponentialBuckets,
  telemetryDefaults,
  telemetryLimits,
  seriesDroppedMetricName,
  type RegistryOptions,
  type MetricOptions,
  type CounterOptions,
  type GaugeOptions,
  type HistogramOptions,
} from './registry.js';
export { collectProcessMetrics, eventloop_resolution_ms, type ProcessMetrics } from './process.js';
export { HttpServerMetrics, latency_buckets_s, otherRoute, type HttpServerMetricsOptions } from './http.js';
