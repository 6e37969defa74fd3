/** One line of a BIRD reply: its 4-digit code (continuations inherit it) and the text after it. */
export interface ReplyLine {
  code: number;
  text: string;
}

/** A complete reply: `code` is the code of the terminal `dddd ` line. */
export interface BirdReply {
  code: number;
  lines: ReplyLine[];
  /** All line texts joined with "\n". */
  text: string;
  /**
   * True when BIRD replaced a line by `8000 <line overflow>` (its 512-byte line limit, nest/cli.c
   * cli_printf) or the decoder had to cut an over-long line: the reply is usable but incomplete.
   */
  truncated?: boolean;
}

/** What a `configure …` command did, keyed on BIRD's reply code (sysdep/unix/main.c cmd_reconfig_msg). */
export type ConfigureStatus =
  | 'reconfigured' // 0003
  | 'in-progress' // 0004: protocols still reconfiguring (BIRD 3: on their threads); poll `configure status`
  | 'queued' // 0005
  | 'unqueued' // 0017
  | 'confirmed' // 0018
  | 'nothing' // 0019
  | 'ok' // 0020 (configure check)
  | 'shutting-down' // 0006
  | 'undo-requested' // 0021 as the terminal line (not seen from 2.0.12, which always adds a result)
  | 'undo-scheduled'; // 0022 as the terminal line

/** Result of `configure`, `configure confirm` and `configure undo`. */
export interface ConfigureResult {
  code: number;
  status: ConfigureStatus;
  messages: string[];
  /** From `0022-Undo scheduled in N s` after `configure … timeout N`. */
  undoTimeoutSec?: number;
}

/** Parsed `configure status` (BIRD >= 2.0.8; sysdep/unix/main.c cmd_reconfig_status). */
export interface ReconfigurationState {
  state: 'running' | 'in-progress' | 'queued' | 'shutting-down';
  /** Seconds left before BIRD undoes an unconfirmed `configure timeout`. */
  undoInSec?: number;
  messages: string[];
}

/** What a parser knows about the BIRD that sent the reply, for its error messages. */
export interface ParseContext {
  /** BIRD's version, e.g. "3.3.2" (from the banner). */
  version?: string;
}

/**
 * One row of the "Route change stats" table, read by its column headers; BIRD's `---` (not
 * applicable) is left undefined. BIRD 3 adds the `RX limit` and `limit` columns.
 */
export interface StatRow {
  received?: number;
  rejected?: number;
  filtered?: number;
  ignored?: number;
  rxLimit?: number;
  limit?: number;
  accepted?: number;
}

/** One channel (`Channel ipv4`) of `show protocols all`. */
export interface ChannelStats {
  name: string;
  state?: string;
  table?: string;
  routes?: { imported: number; filtered?: number; exported: number; preferred?: number };
  importUpdates?: StatRow;
  importWithdraws?: StatRow;
  exportUpdates?: StatRow;
  exportWithdraws?: StatRow;
}

/** One protocol of `show protocols [all]`. */
export interface ProtocolInfo {
  name: string;
  proto: string;
  table: string;
  state: string;
  since: string;
  info: string;
  bgpState?: string;
  neighborAddress?: string;
  /** Every other `Key: value` detail line outside the channels (first occurrence), e.g. "Neighbor AS". */
  details?: Record<string, string>;
  channels: ChannelStats[];
}

/** One row of `show bfd sessions`. */
export interface BfdSession {
  address: string;
  iface: string;
  /** "Up", "Down", "Init", "AdminDown". */
  state: string;
}

/** One route of `show route … all`. */
export interface RouteInfo {
  prefix: string;
  table?: string;
  protocol: string;
  primary: boolean;
  /** BIRD 2's `Type:` line, e.g. "BGP univ", "static univ" (BIRD 3 has no such line). */
  type?: string;
  /** What made the route: "BGP", "static", … (BIRD 3's `source:`, the first word of BIRD 2's `Type:`). */
  source?: string;
  /** Route kind from the first line: unicast, blackhole, unreachable, prohibit. */
  kind?: string;
  nextHop?: string;
  iface?: string;
  since?: string;
  /** `from` address of BGP routes. */
  from?: string;
  preference?: number;
  med?: number;
  localPref?: number;
  asPath?: number[];
  origin?: string;
  communities: string[];
  largeCommunities: string[];
  /** Raw attribute lines in BIRD's own spelling, e.g. "BGP.med" (BIRD 2) or "bgp_med" (BIRD 3) -> "100". */
  attributes: Record<string, string>;
}

/** Parsed `show status`. */
export interface BirdStatus {
  /** e.g. "2.0.12", "3.3.2". */
  version: string;
  routerId?: string;
  hostname?: string;
  serverTime?: string;
  lastReboot?: string;
  lastReconfiguration?: string;
  /** Terminal line, e.g. "Daemon is up and running". */
  message: string;
}
