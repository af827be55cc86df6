export { FileStateStore, STATE_FILE_BYTES_MAX } from './file-store.js';
export {
  runAudit,
  auditOnce,
  AUDIT_DEFAULTS,
  formatAuditReport,
  type AuditOptions,
  type AuditReport,
  type AuditFailure,
  type AuditHead,
  type AuditSampleOptions,
} from '../audit.js';
