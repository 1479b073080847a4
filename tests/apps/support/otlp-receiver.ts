import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { waitFor } from '../../support/wait';

// The part of opentelemetry/proto (collector/trace/v1, trace/v1, common/v1, resource/v1) the tests read; field
// numbers as upstream, everything else is skipped by the decoder. No npm package ships the .proto files.
const TRIMMED_OTLP_TRACE_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; repeated Event events = 11;
  repeated Link links = 13; Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** OTLP span kinds. */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

/** OTLP status codes. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

/** A span as the receiver got it. */
export interface ReceivedSpan {
  /** `service.name` of the resource. */
  readonly service: string;
  /** 32 hex. */
  readonly traceId: string;
  /** 16 hex. */
  readonly spanId: string;
  /** 16 hex, or '' for a root span. */
  readonly parentSpanId: string;
  /** Span name. */
  readonly name: string;
  /** See {@link SpanKind}. */
  readonly kind: number;
  /** Instrumentation scope name. */
  readonly scope: string;
  /** Span attributes. */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** See {@link StatusCode}. */
  readonly status: number;
  /** The status message, `''` when none. */
  readonly statusMessage: string;
  /** Events, such as `exception`, with their attributes. */
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Readonly<Record<string, unknown>> }>;
  /** Links to other spans, with their attributes. */
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string; readonly attributes: Readonly<Record<string, unknown>> }>;
  /** Resource attributes. */
  readonly resource: Readonly<Record<string, unknown>>;
}

interface Decoded {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ scope?: { name?: string }; spans?: RawSpan[] }>;
  }>;
}
interface KeyValue { key: string; value?: Record<string, unknown> & { value?: string } }
interface RawSpan {
  traceId: Uint8Array; spanId: Uint8Array; parentSpanId: Uint8Array; name: string; kind: number; attributes?: KeyValue[];
  status?: { code?: number; message?: string }; events?: Array<{ name: string; attributes?: KeyValue[] }>;
  links?: Array<{ traceId: Uint8Array; spanId: Uint8Array; attributes?: KeyValue[] }>;
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    // with `oneofs: true`, `value.value` names the member of the AnyValue oneof that was sent
    out[key] = value?.value === undefined ? undefined : value[value.value];
  }
  return out;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/**
 * A real OTLP/gRPC trace receiver on loopback: the services export to it as to a collector. With `decode: false`
 * it only counts (a sink for benchmarks).
 */
export class OtlpReceiver {
  /** Every span received so far (decoding receivers only). */
  readonly spans: ReceivedSpan[] = [];
  /** Export calls answered. */
  exports = 0;
  /** Bytes received. */
  bytes = 0;

  private constructor(private readonly server: grpc.Server, readonly port: number) {}

  /** The endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts a receiver on `port` (0: a free one). */
  static async start(options: { port?: number; decode?: boolean } = {}): Promise<OtlpReceiver> {
    const request = protobuf.parse(TRIMMED_OTLP_TRACE_PROTO).root.lookupType('otlp.ExportTraceServiceRequest');
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        (error ? reject(error) : resolve(bound)));
    });
    const receiver = new OtlpReceiver(server, port);
    const decode = options.decode ?? true;
    server.addService({
      Export: {
        path: EXPORT_PATH, requestStream: false, responseStream: false,
        requestSerialize: (value: Buffer) => value, requestDeserialize: (buffer: Buffer) => buffer,
        responseSerialize: (value: Buffer) => value, responseDeserialize: (buffer: Buffer) => buffer,
      },
    }, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        receiver.exports += 1;
        receiver.bytes += call.request.length;
        if (decode) receiver.collect(request.toObject(request.decode(call.request), { oneofs: true, longs: Number }) as Decoded);
        callback(null, Buffer.alloc(0)); // an empty ExportTraceServiceResponse: all accepted
      },
    });
    return receiver;
  }

  private collect(decoded: Decoded): void {
    for (const rs of decoded.resourceSpans ?? []) {
      const resource = attributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          this.spans.push({
            service: String(resource['service.name']),
            traceId: hex(span.traceId),
            spanId: hex(span.spanId),
            parentSpanId: span.parentSpanId === undefined ? '' : hex(span.parentSpanId),
            name: span.name,
            kind: span.kind ?? 0,
            scope: ss.scope?.name ?? '',
            attributes: attributes(span.attributes),
            status: span.status?.code ?? StatusCode.UNSET,
            statusMessage: span.status?.message ?? '',
            events: (span.events ?? []).map(e => ({ name: e.name, attributes: attributes(e.attributes) })),
            links: (span.links ?? []).map(l => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: attributes(l.attributes) })),
            resource,
          });
        }
      }
    }
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter(s => s.traceId === traceId);
  }

  /** Polls until `predicate` holds for the spans received, then returns them; fails after `timeoutMs`. */
  async waitForSpans(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs = 15_000): Promise<ReceivedSpan[]> {
    await waitFor(() => predicate(this.spans), { timeoutMs, what: 'spans at the OTLP receiver' });
    return this.spans;
  }

  /** Stops the receiver at once. */
  close(): void {
    this.server.forceShutdown();
  }
}
