import { COMPLIANCE_CHECK_IDS } from '../contracts/compliance.js';
import type { ComplianceCheck } from './compliance-check.js';
import { DISCOVERY_CHECKS } from './checks/discovery.checks.js';
import { directTlsCheck } from './checks/direct-tls.check.js';
import { EXTERNAL_SERVICE_CHECKS } from './checks/external-services.checks.js';
import { httpUpload } from './checks/http-upload.check.js';
import { MESSAGING_CHECKS } from './checks/messaging.checks.js';
import { MUC_CHECKS } from './checks/muc.checks.js';

const ALL: readonly ComplianceCheck[] = [...DISCOVERY_CHECKS, directTlsCheck, ...MESSAGING_CHECKS, ...MUC_CHECKS, httpUpload, ...EXTERNAL_SERVICE_CHECKS];

/** Every check, in the contracts' order (core, IM, mobile, A/V). */
export function complianceChecks(): ComplianceCheck[] {
  return COMPLIANCE_CHECK_IDS.map((id) => {
    const matching = ALL.filter((check) => check.id === id);
    if (matching.length !== 1 || !matching[0]) throw new Error(`compliance check ${id} has ${matching.length} implementations`);
    return matching[0];
  });
}
