import type { ResponseLine } from "../ops/types.ts";

/**
 * Workers Analytics Engine: one data point per response, the log line's facts
 * in fixed columns (docs/operators.md has the SQL). The index is the key's
 * name, so sampling keeps each key's share; `_sample_interval` weighs rows back.
 *
 * blob1 key · blob2 model · blob3 upstream_model · blob4 transport · blob5 status ·
 * blob6 error_code · blob7 upstream · blob8 endpoint · blob9 request_id · blob10 response_id;
 * double1 input_tokens · double2 output_tokens · double3 cached_tokens · double4 reasoning_tokens ·
 * double5 ttft_ms (-1: nothing streamed) · double6 duration_ms · double7 attempts · double8 http_status (0: none).
 */
export function analyticsSink(dataset: AnalyticsEngineDataset): (line: ResponseLine) => void {
  return (l) =>
    dataset.writeDataPoint({
      indexes: [l.key ?? "anonymous"],
      blobs: [l.key ?? "anonymous", l.model ?? "", l.upstream_model ?? "", l.transport ?? "", l.status, l.error_code ?? "", l.upstream ?? "", l.endpoint, l.request_id, l.response_id ?? ""],
      doubles: [l.input_tokens, l.output_tokens, l.cached_tokens, l.reasoning_tokens, l.ttft_ms ?? -1, l.duration_ms, l.attempts, l.http_status ?? 0],
    });
}
