/** The cfn tools of the kit, the ones cfn-create-aws-symlinks links into /opt/aws/bin (heat-agent is not one). */
export const CFN_TOOL_NAMES: readonly string[] = ['cfn-init', 'cfn-signal', 'cfn-hup', 'cfn-push-stats', 'cfn-get-metadata', 'cfn-create-aws-symlinks'];

/** Every tool of the kit, by the name it is started under. */
export const TOOL_NAMES: readonly string[] = [...CFN_TOOL_NAMES, 'heat-agent'];
