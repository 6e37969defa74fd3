/** Test helpers shared by the fleet package's tests: a recording logger, record builders (certificates: testlab's makeTlsCerts). */
import type { NodeRecord, RedisConfig } from '@vipcontrol/core';
import type { FleetLogger } from '../src/node-client.js';

export interface LogLine { level: 'debug' | 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg?: string }

/** A FleetLogger that keeps every line, for asserting on logged errors. */
export function recordingLogger(): FleetLogger & { lines: LogLine[]; events(level?: LogLine['level']): unknown[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return {
    lines,
    debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
    events: (level) => lines.filter((l) => !level || l.level === level).map((l) => l.obj.event),
  };
}

export function redisConfig(url: string, over: Partial<RedisConfig> = {}): RedisConfig {
  return { url, keyPrefix: `t${Math.random().toString(36).slice(2, 8)}:`, heartbeatMs: 200, ttlMs: 1000, ...over };
}

export const P4 = '198.51.100.10/32';
export const P6 = '2001:db8::10/128';

export function nodeRecord(node: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    v: 1, node, version: '0.1.0', instance: 'i-1', startedAt: Date.now(), heartbeatAt: Date.now(),
    bird: { connected: true }, guarded: [],
    vips: [P4, P6].map((prefix) => ({ prefix, announced: true, med: 100, terms: [{ kind: 'configured' as const, med: 100 }], withdrawReasons: [], minAnnouncers: 0, inSync: true })),
    ...over,
  };
}

