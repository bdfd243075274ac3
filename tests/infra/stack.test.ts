/**
 * The CDK stack, synthesized once for the whole file (esbuild bundles 11 functions: ~10-15 s).
 * One test per intent of issue 7.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { environmentKeys } from '../../infra/environment';
import { loadDeployDefinition, STEP_FUNCTIONS } from '../../infra/definition';
import { CdcLedgerStack } from '../../infra/stack';
import { listPlaceholders, listTaskStates, loadDefinitionText, parseDefinition } from '../../local/runner/definition';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

let stack: CdcLedgerStack;
let template: Template;
let resources: Record<string, { Type: string; Properties?: Json; Metadata?: Json }>;
let synthMs = 0;

beforeAll(() => {
  const started = Date.now();
  const app = new App({ outdir: undefined });
  stack = new CdcLedgerStack(app, 'CdcLedgerTest', { notificationEmail: 'ops@example.com' });
  template = Template.fromStack(stack);
  resources = template.toJSON()['Resources'] as typeof resources;
  synthMs = Date.now() - started;
  console.log(`tests/infra: synth with esbuild bundling of ${STEP_FUNCTIONS.length + 1} functions took ${synthMs} ms`);
});

function ofType(type: string): [string, { Type: string; Properties?: Json }][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function stateMachineDefinition(): { text: string; substitutions: Json } {
  const [sm] = ofType('AWS::StepFunctions::StateMachine');
  const props = sm?.[1].Properties ?? {};
  const body = props['DefinitionString'];
  // DefinitionBody.fromString + substitutions: the raw text, placeholders intact.
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { text, substitutions: (props['DefinitionSubstitutions'] ?? {}) as Json };
}

describe('state machine', () => {
  test('is the ONE definition, STANDARD, logging ALL to its own log group, traced, with a timeout', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StateMachineLogs'), 'Arn'] } } }],
      },
    });
    const { text } = stateMachineDefinition();
    expect(text).toBe(loadDefinitionText());
    const parsed = JSON.parse(text) as { TimeoutSeconds?: number };
    expect(parsed.TimeoutSeconds).toBeGreaterThan(0);
  });

  test('every ${Placeholder} is substituted and no substitution is unused', () => {
    const { text, substitutions } = stateMachineDefinition();
    expect(Object.keys(substitutions).sort()).toEqual(listPlaceholders(text).sort());
    for (const [name, value] of Object.entries(substitutions)) {
      if (name === 'NotificationTopicArn') expect(value).toEqual({ Ref: expect.stringMatching(/^NotificationsTopic/) });
      else expect(value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^Functions${name.replace(/Arn$/, '')}`)), 'Arn'] });
    }
  });

  /** Tasks without a Catch, by design: AwaitRedrive's RunFailed is what ends the failed execution (redrivable). */
  const UNCAUGHT_BY_DESIGN = ['AwaitRedrive'];

  test('every Task in the synthesized definition has Retry, and a Catch on it or on its enclosing Map', () => {
    const { text, substitutions } = stateMachineDefinition();
    const concrete = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, n: string) =>
      n in substitutions ? (n === 'NotificationTopicArn' ? 'arn:aws:sns:us-east-1:123456789012:t' : `arn:aws:lambda:us-east-1:123456789012:function:${n}`) : _m,
    );
    const def = parseDefinition(concrete);
    const tasks = listTaskStates(def);
    expect(tasks.length).toBeGreaterThanOrEqual(12);
    const topStates = def.States;
    for (const t of tasks) {
      expect({ task: t.name, retry: Array.isArray(t.state['Retry']) && (t.state['Retry'] as unknown[]).length > 0 }).toEqual({ task: t.name, retry: true });
      const ownCatch = Array.isArray(t.state['Catch']) && (t.state['Catch'] as unknown[]).length > 0;
      const outer = t.containers[0];
      const mapCatch = outer !== undefined && Array.isArray(topStates[outer.name]?.['Catch']);
      expect({ task: t.name, caught: ownCatch || mapCatch }).toEqual({ task: t.name, caught: !UNCAUGHT_BY_DESIGN.includes(t.name) });
    }
  });

  test('every Task that retries a lost database also retries a transaction conflict (deadlock, serialization failure)', () => {
    const { text, substitutions } = stateMachineDefinition();
    const concrete = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, n: string) => (n in substitutions ? 'arn:aws:lambda:us-east-1:123456789012:function:f' : _m));
    const retried = (t: { state: Record<string, unknown> }): string[] =>
      ((t.state['Retry'] ?? []) as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
    const dbTasks = listTaskStates(parseDefinition(concrete)).filter((t) => retried(t).includes('DatabaseUnavailableException'));
    expect(dbTasks.length).toBeGreaterThanOrEqual(6);
    for (const t of dbTasks) expect({ task: t.name, conflict: retried(t).includes('TransactionConflictError') }).toEqual({ task: t.name, conflict: true });
  });

  test('a Data API statement timeout is retried once, after 30 s, on its own retrier: statements are bounded, so it is not treated as transient', () => {
    const { text, substitutions } = stateMachineDefinition();
    const concrete = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, n: string) => (n in substitutions ? 'arn:aws:lambda:us-east-1:123456789012:function:f' : _m));
    const retriers = (t: { state: Record<string, unknown> }) => (t.state['Retry'] ?? []) as { ErrorEquals: string[]; MaxAttempts?: number; IntervalSeconds?: number }[];
    const dbTasks = listTaskStates(parseDefinition(concrete)).filter((t) => retriers(t).some((r) => r.ErrorEquals.includes('DatabaseUnavailableException')));
    for (const t of dbTasks) {
      const timeout = retriers(t).filter((r) => r.ErrorEquals.includes('StatementTimeoutException'));
      expect({ task: t.name, timeout }).toEqual({ task: t.name, timeout: [{ ErrorEquals: ['StatementTimeoutException'], IntervalSeconds: 30, MaxAttempts: 1, JitterStrategy: 'FULL' }] });
    }
  });

  test('each function timeout equals the largest TimeoutSeconds of the Task states that call it', () => {
    const def = loadDeployDefinition();
    for (const spec of STEP_FUNCTIONS) {
      const fn = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith(`Functions${spec.placeholder.replace(/Arn$/, '')}`));
      expect(fn?.[1].Properties?.['Timeout']).toBe(def.timeoutSeconds.get(spec.placeholder));
    }
  });
});

describe('functions', () => {
  test('Node.js 22 on arm64 with explicit memory, X-Ray, environment from the HandlerEnvironment codec', () => {
    const { required, optional } = environmentKeys();
    const fns = ofType('AWS::Lambda::Function').filter(([id]) => id.startsWith('Functions'));
    expect(fns).toHaveLength(STEP_FUNCTIONS.length);
    for (const [id, fn] of fns) {
      const p = fn.Properties ?? {};
      expect({ id, runtime: p['Runtime'], arch: p['Architectures'], tracing: p['TracingConfig'] }).toEqual({
        id,
        runtime: 'nodejs22.x',
        arch: ['arm64'],
        tracing: { Mode: 'Active' },
      });
      expect(typeof p['MemorySize']).toBe('number');
      const env = ((p['Environment'] as Json | undefined)?.['Variables'] ?? {}) as Json;
      const vars = Object.keys(env).filter((k) => k !== 'NODE_OPTIONS');
      for (const k of required) expect(vars).toContain(k);
      for (const k of vars) expect([...required, ...optional]).toContain(k);
      // the heap is capped below the function's memory: memory stays bounded whatever the window
      const heap = /^--max-old-space-size=(\d+)$/.exec(String(env['NODE_OPTIONS']));
      expect(heap).not.toBeNull();
      expect(Number(heap?.[1])).toBeLessThan(Number(p['MemorySize']));
    }
  });

  test('only Extract and PlanWindows (the SQL Server readers) run in the VPC', () => {
    const inVpc = ofType('AWS::Lambda::Function')
      .filter(([, r]) => r.Properties?.['VpcConfig'] !== undefined)
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(inVpc.sort()).toEqual(['FunctionsExtractFunction', 'FunctionsPlanWindowsFunction']);
  });

  test('migrations run on deploy through a custom resource', () => {
    template.hasResourceProperties('Custom::CdcLedgerMigrations', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MigrateFunction'), 'Arn'] },
      schemaVersion: Match.stringLikeRegexp('^[0-9a-f]{64}$'),
    });
  });
});

describe('schedule and notifications', () => {
  test('EventBridge Scheduler rate(5 minutes) starts the state machine, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: {
        Arn: { Ref: Match.stringLikeRegexp('^Pipeline') },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 240 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScheduleDlq'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  test('the topic is KMS-encrypted, SSL-only, has the e-mail subscription', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'events.amazonaws.com' } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  test('an EventBridge rule sends FAILED / TIMED_OUT / ABORTED executions of this state machine to the topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: Match.stringLikeRegexp('^Pipeline') }] },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^NotificationsTopic') } })],
    });
  });
});

describe('storage', () => {
  const sslOnly = Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });

  test('the chunk bucket is encrypted, SSL-only, private and expires chunks', () => {
    const [id] = ofType('AWS::S3::Bucket').find(([k]) => k.startsWith('StorageChunks')) ?? [];
    expect(id).toBeDefined();
    expect(resources[id ?? '']?.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ Prefix: 'chunks/', ExpirationInDays: 14, Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', { Bucket: { Ref: id }, PolicyDocument: { Statement: Match.arrayWith([sslOnly]) } });
  });

  test('the digest bucket has Object Lock in COMPLIANCE mode with the retention parameter', () => {
    const [id, digest] = ofType('AWS::S3::Bucket').find(([k]) => k.startsWith('StorageDigests')) ?? [];
    expect(digest?.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 3650 } } },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', { Bucket: { Ref: id }, PolicyDocument: { Statement: Match.arrayWith([sslOnly]) } });
  });
});

describe('database', () => {
  test('creates Aurora PostgreSQL Serverless v2 with the Data API in private subnets when none is imported', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      EnableHttpEndpoint: true,
      StorageEncrypted: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
    });
    template.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', PubliclyAccessible: false });
  });
});

// ---- IAM: every statement's resources

/** Statements whose resource AWS requires to be "*", by action prefix. */
const STAR_ALLOWED: Readonly<Record<string, string>> = {
  'xray:': 'X-Ray has no resource-level permissions',
  'logs:CreateLogDelivery': 'vended log delivery (Step Functions logging) has no resource-level permissions',
  'logs:GetLogDelivery': 'same',
  'logs:UpdateLogDelivery': 'same',
  'logs:DeleteLogDelivery': 'same',
  'logs:ListLogDeliveries': 'same',
  'logs:PutResourcePolicy': 'same',
  'logs:DescribeResourcePolicies': 'same',
  'logs:DescribeLogGroups': 'same',
  'states:ListStateMachines': 'listing state machines has no resource-level permissions (operators role, --stack-name)',
  'kms:': 'a KMS key policy statement applies to its own key ("*" means this key)',
};

function statementsOf(doc: unknown): Json[] {
  if (!isObj(doc)) return [];
  const s = doc['Statement'];
  return Array.isArray(s) ? (s as Json[]) : isObj(s) ? [s] : [];
}
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

describe('IAM', () => {
  test('no statement grants "*" resources except the named AWS-required cases', () => {
    const offenders: string[] = [];
    for (const [id, r] of Object.entries(resources)) {
      const docs: unknown[] = [];
      if (r.Type === 'AWS::IAM::Policy') docs.push(r.Properties?.['PolicyDocument']);
      if (r.Type === 'AWS::IAM::Role') for (const p of asList(r.Properties?.['Policies'])) docs.push(isObj(p) ? p['PolicyDocument'] : undefined);
      for (const st of docs.flatMap(statementsOf)) {
        if (!asList(st['Resource']).includes('*')) continue;
        const actions = asList(st['Action']).map(String);
        const ok = actions.every((a) => Object.keys(STAR_ALLOWED).some((p) => a.startsWith(p)));
        if (!ok) offenders.push(`${id}: ${actions.join(',')}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  function policiesOf(prefix: string): Json[] {
    return ofType('AWS::IAM::Policy')
      .filter(([, r]) => asList(r.Properties?.['Roles']).some((ref) => isObj(ref) && String(ref['Ref']).startsWith(prefix)))
      .flatMap(([, r]) => statementsOf(r.Properties?.['PolicyDocument']));
  }

  test('rds-data only on the cluster, GetSecretValue only on the two secrets, S3 only on the prefixes', () => {
    for (const [id] of ofType('AWS::IAM::Role').filter(([k]) => k.startsWith('Functions'))) {
      for (const st of policiesOf(id)) {
        const actions = asList(st['Action']).map(String);
        const res = asList(st['Resource']);
        if (actions.some((a) => a.startsWith('rds-data:'))) {
          expect(res).toHaveLength(1);
          expect(JSON.stringify(res[0])).toMatch(/":cluster:",\{"Ref":"LedgerCluster[0-9A-F]{8}"\}/);
        }
        if (actions.includes('secretsmanager:GetSecretValue')) {
          expect(actions).toEqual(['secretsmanager:GetSecretValue']);
          expect(res).toHaveLength(1);
          expect(JSON.stringify(res[0])).toMatch(/LedgerClusterSecretAttachment|SourceSecret/);
        }
        if (actions.some((a) => a.startsWith('s3:'))) {
          const s = JSON.stringify(res);
          if (actions.includes('s3:ListBucket')) expect(st['Condition']).toEqual({ StringLike: { 's3:prefix': [expect.stringMatching(/^(chunks|digests)\/\*$/)] } });
          else expect(s).toMatch(/\/(chunks|digests)\/\*"/);
        }
        expect(actions.filter((a) => a.startsWith('states:'))).toEqual([]);
      }
    }
  });

  test('the state machine may invoke exactly its functions and publish only to the topic', () => {
    const statements = policiesOf('PipelineRole');
    const invoke = statements.find((s) => asList(s['Action']).includes('lambda:InvokeFunction'));
    expect(asList(invoke?.['Resource'])).toHaveLength(STEP_FUNCTIONS.length);
    for (const r of asList(invoke?.['Resource'])) expect(r).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Functions/), 'Arn'] });
    const publish = statements.find((s) => asList(s['Action']).includes('sns:Publish'));
    expect(publish?.['Resource']).toEqual({ Ref: expect.stringMatching(/^NotificationsTopic/) });
  });

  test('states:RedriveExecution is granted only to the operators role', () => {
    const holders = ofType('AWS::IAM::Policy')
      .filter(([, r]) => statementsOf(r.Properties?.['PolicyDocument']).some((s) => asList(s['Action']).includes('states:RedriveExecution')))
      .map(([, r]) => JSON.stringify(r.Properties?.['Roles']));
    expect(holders).toHaveLength(1);
    expect(holders[0]).toMatch(/OperatorsRole/);
  });
});

describe('monitoring', () => {
  test('alarms on failed and timed-out executions, lag and quarantine rate, all to the topic; a dashboard', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm');
    const names = alarms.map(([id]) => id);
    for (const n of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ReplicationLag', 'QuarantineRate']) expect(names.some((id) => id.includes(n))).toBe(true);
    for (const [, a] of alarms) expect(a.Properties?.['AlarmActions']).toEqual([{ Ref: expect.stringMatching(/^NotificationsTopic/) }]);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('cdk-nag AwsSolutions', () => {
  test('reports nothing unacknowledged; every acknowledgement carries a reason', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.locations.join(' ') || r.resourceLogicalId).join(', ')}`);
    expect(findings).toEqual([]);
    const acks: { id: string; reason: string }[] = [];
    for (const c of stack.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === 'aws:cdk:acknowledged-rules' && isObj(m.data)) for (const [id, reason] of Object.entries(m.data)) acks.push({ id, reason: String(reason) });
      }
    }
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(30);
  });
});

describe('snapshot', () => {
  test('normalized template (asset hashes removed)', () => {
    const text = JSON.stringify(template.toJSON(), null, 1)
      .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '<hash>$1');
    expect(JSON.parse(text)).toMatchSnapshot();
  });
});
