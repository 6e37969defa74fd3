/**
 * The daemon's answers vipctl renders: the API contract declared once in core (api-contract.ts).
 * vipctl only reads these, from JSON; fields a daemon of another version may lack are optional there.
 */
export type {
  DaemonStatus,
  ExportedRoute,
  LastApplyStatus as LastApply,
  MaintenanceStatus,
  OperationResult,
  VipStatus,
} from '@vipcontrol/core';
