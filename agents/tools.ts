/** The tools' entry points, for the bundle (agents/main.ts). */
import type { ToolMain } from '../shared/cli';

/**
 * A tool's entry point, its modules loaded only now: cfn-signal need not
 * pay for cfn-init's archive and template libraries at every start.
 */
export function loadTool(name: string): ToolMain | undefined {
  switch (name) {
    case 'cfn-init': return (require('./cfn-init') as typeof import('./cfn-init')).main;
    case 'cfn-signal': return (require('./cfn-signal') as typeof import('./cfn-signal')).main;
    case 'cfn-hup': return (require('./cfn-hup') as typeof import('./cfn-hup')).main;
    case 'cfn-push-stats': return (require('./cfn-push-stats') as typeof import('./cfn-push-stats')).main;
    case 'cfn-get-metadata': return (require('./cfn-get-metadata') as typeof import('./cfn-get-metadata')).main;
    case 'cfn-create-aws-symlinks': return (require('./cfn-create-aws-symlinks') as typeof import('./cfn-create-aws-symlinks')).main;
    case 'heat-agent': return (require('./heat-agent') as typeof import('./heat-agent')).main;
    default: return undefined;
  }
}
