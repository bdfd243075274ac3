import type { StateMachine as StateMachineType } from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };
import {
  DefinitionSubstitutionError,
  listPlaceholders,
  listTaskStates,
  loadDefinitionText,
  loadLocalDefinition,
  localFunctionArn,
  localSubstitutions,
  localTopicArn,
  parseDefinition,
  substitute,
  validateDefinition,
  walkStates,
  type AslState,
} from '../local/runner/definition';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as { StateMachine: typeof StateMachineType };

const raw = loadDefinitionText();
const { definition, substitutions } = loadLocalDefinition();

function catchers(s: AslState): { ErrorEquals: string[]; Next: string; ResultPath?: string }[] {
  return (s['Catch'] ?? []) as { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
}

describe('statemachine/pipeline.asl.json', () => {
  test('uses exactly the expected placeholders, and local substitutions cover them all', () => {
    expect(listPlaceholders(raw).sort()).toEqual(
      [
        'AwaitRedriveFunctionArn',
        'CloseRunFunctionArn',
        'CommitFunctionArn',
        'CompensateFunctionArn',
        'ExtractFunctionArn',
        'LoadFunctionArn',
        'NotificationTopicArn',
        'OpenRunFunctionArn',
        'PlanWindowsFunctionArn',
        'TransformFunctionArn',
        'VerifyFunctionArn',
      ].sort(),
    );
    expect(substitutions['OpenRunFunctionArn']).toBe('arn:aws:lambda:local:000000000000:function:cdc-ledger-open-run');
    expect(substitutions['PlanWindowsFunctionArn']).toBe(localFunctionArn('PlanWindows'));
    expect(substitutions['NotificationTopicArn']).toBe(localTopicArn());
    expect(localSubstitutions('eu-west-1', '123456789012', raw)['TransformFunctionArn']).toBe(
      'arn:aws:lambda:eu-west-1:123456789012:function:cdc-ledger-transform',
    );
  });

  test('is valid per asl-validator (JS API), with ARN and path checks, after substitution', () => {
    const res = validateDefinition(definition);
    expect(res.errors).toEqual([]);
    expect(res.valid).toBe(true);
  });

  test('is accepted by aws-local-stepfunctions (its own validation)', () => {
    expect(() => new StateMachine(JSON.parse(JSON.stringify(definition)) as ConstructorParameters<typeof StateMachineType>[0])).not.toThrow();
  });

  test('the unsubstituted file cannot be parsed as-is (placeholders remain)', () => {
    expect(() => parseDefinition(raw)).toThrow(DefinitionSubstitutionError);
  });

  test('is JSONPath only: no JSONata query language, fields or expressions', () => {
    expect(definition.QueryLanguage).toBe('JSONPath');
    const jsonataFields = ['Arguments', 'Output', 'Condition', 'Items'];
    for (const s of walkStates(definition)) {
      expect([undefined, 'JSONPath']).toContain(s.state['QueryLanguage']);
      for (const f of jsonataFields) expect({ state: s.name, field: f, present: f in s.state }).toEqual({ state: s.name, field: f, present: false });
    }
    expect(raw).not.toMatch(/\{%/);
  });

  test('finds every Task, including those inside the Map item processor', () => {
    const tasks = listTaskStates(definition);
    expect(tasks.map((t) => t.name).sort()).toEqual(
      [
        'AwaitRedrive',
        'CloseRun',
        'Commit',
        'Compensate',
        'Extract',
        'ApplyRules',
        'Load',
        'NotifyCommitted',
        'NotifyFailure',
        'OpenRun',
        'PlanWindows',
        'ReacquireLease',
        'RestageLoad',
        'Verify',
      ].sort(),
    );
    expect(tasks.filter((t) => t.insideMap).map((t) => t.name).sort()).toEqual(['ApplyRules', 'Extract', 'Load', 'RestageLoad']);
    expect(tasks.find((t) => t.name === 'Extract')?.container).toEqual({ kind: 'Map', name: 'ProcessTables' });
  });

  test('every Task has TimeoutSeconds and Retry; every main-path state is caught, remembered and compensated', () => {
    const failurePath = new Set(['Compensate', 'NotifyFailure', 'ReacquireLease']);
    for (const t of listTaskStates(definition)) {
      expect({ state: t.name, timeout: typeof t.state['TimeoutSeconds'] }).toEqual({ state: t.name, timeout: 'number' });
      expect({ state: t.name, retry: Array.isArray(t.state['Retry']) && (t.state['Retry'] as unknown[]).length > 0 }).toEqual({ state: t.name, retry: true });
      if (t.insideMap) continue;
      const all = catchers(t.state).find((c) => c.ErrorEquals.includes('States.ALL'));
      if (t.name === 'AwaitRedrive') {
        // The end of the failure path must fail the execution so that it can be redriven.
        expect(all).toBeUndefined();
        continue;
      }
      expect({ state: t.name, catchAll: all !== undefined }).toEqual({ state: t.name, catchAll: true });
      if (failurePath.has(t.name)) continue;
      // The main path records where it failed (FailedAt<State> → $.failedState), then compensates.
      expect({ state: t.name, next: all?.Next, resultPath: all?.ResultPath }).toEqual({ state: t.name, next: `FailedAt${t.name}`, resultPath: '$.error' });
      const marker = definition.States[`FailedAt${t.name}`];
      expect(marker).toMatchObject({ Type: 'Pass', Result: t.name, ResultPath: '$.failedState', Next: 'Compensate' });
    }
    // Errors inside the iterator are caught by the Map state itself, and a redrive resumes at the Map.
    const map = definition.States['ProcessTables'];
    expect(map?.Type).toBe('Map');
    expect(map ? catchers(map).map((c) => [c.ErrorEquals, c.Next]) : []).toEqual([[['States.ALL'], 'FailedAtProcessTables']]);
  });

  test('the failure path ends in AwaitRedrive, and ResumeAt can resume at every remembered state', () => {
    expect(definition.States['NotifyFailure']?.['Next']).toBe('AwaitRedrive');
    expect(definition.States['AwaitRedrive']?.['Next']).toBe('ReacquireLease');
    expect(definition.States['ReacquireLease']?.['Next']).toBe('ResumeAt');
    const remembered = Object.keys(definition.States)
      .filter((n) => n.startsWith('FailedAt'))
      .map((n) => n.slice('FailedAt'.length));
    const choices = (definition.States['ResumeAt']?.['Choices'] ?? []) as { StringEquals: string; Next: string }[];
    expect(choices.map((c) => c.StringEquals).sort()).toEqual(remembered.sort());
    for (const c of choices) expect([c.StringEquals, 'Restage']).toContain(c.Next);
    // No Fail state on the caught path: a redrive must be able to pass it.
    expect(Object.entries(definition.States).filter(([, s]) => s.Type === 'Fail').map(([n]) => n)).toEqual(['UnknownResumePoint']);
  });

  test('transient error names are retried, permanent ones are not', () => {
    for (const t of listTaskStates(definition)) {
      const retried = ((t.state['Retry'] ?? []) as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
      if (t.resource.startsWith('arn:aws:states:::sns:')) continue;
      expect(retried).toEqual(expect.arrayContaining(['Lambda.ServiceException', 'Lambda.TooManyRequestsException']));
      if (t.name === 'AwaitRedrive') {
        // It does no I/O; RunFailed must end the execution, never be retried.
        expect(retried).not.toContain('RunFailed');
        continue;
      }
      expect(retried).toEqual(expect.arrayContaining(['SourceUnavailableError', 'DatabaseResumingException', 'StatementTimeoutException']));
      // a statement timeout is retried once, after a pause, on its own retrier: every statement is
      // bounded (docs/architecture.md), so a timeout means a slow database, and five tries would
      // only repeat the same failure before the Catch compensates it for a redrive
      const retriers = (t.state['Retry'] ?? []) as { ErrorEquals: string[]; MaxAttempts?: number; IntervalSeconds?: number }[];
      const timeout = retriers.filter((r) => r.ErrorEquals.includes('StatementTimeoutException'));
      expect({ state: t.name, timeout }).toEqual({ state: t.name, timeout: [expect.objectContaining({ ErrorEquals: ['StatementTimeoutException'], MaxAttempts: 1, IntervalSeconds: 30 })] });
      for (const permanent of ['VerificationError', 'CdcRetentionGapError', 'ConfigError', 'SchemaDriftError', 'States.ALL', 'States.TaskFailed']) {
        expect({ state: t.name, permanent, retried: retried.includes(permanent) }).toEqual({ state: t.name, permanent, retried: false });
      }
    }
  });
});

describe('placeholder substitution', () => {
  const small = JSON.stringify({
    StartAt: 'A',
    States: {
      A: { Type: 'Task', Resource: '${AFunctionArn}', Next: 'B' },
      B: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: '${Topic}', Message: 'x' }, End: true },
    },
  });

  test('lists each placeholder once, in order', () => {
    expect(listPlaceholders('${B} ${A} ${B} $A {A} ${ A}')).toEqual(['B', 'A']);
  });

  test('substitutes every placeholder', () => {
    const out = substitute(small, { AFunctionArn: 'arn:aws:lambda:local:000000000000:function:a', Topic: 'arn:aws:sns:local:000000000000:t' });
    expect(listPlaceholders(out)).toEqual([]);
    const def = parseDefinition(out);
    expect(def.States['A']?.['Resource']).toBe('arn:aws:lambda:local:000000000000:function:a');
    expect(validateDefinition(def).valid).toBe(true);
  });

  test('a placeholder without a substitution is reported by name', () => {
    let err: unknown;
    try {
      substitute(small, { AFunctionArn: 'arn:aws:lambda:local:000000000000:function:a' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DefinitionSubstitutionError);
    expect((err as DefinitionSubstitutionError).missing).toEqual(['Topic']);
    expect((err as DefinitionSubstitutionError).unused).toEqual([]);
    expect((err as Error).message).toContain('${Topic}');
  });

  test('a substitution the definition does not use is reported by name', () => {
    let err: unknown;
    try {
      substitute(small, { AFunctionArn: 'a', Topic: 't', Unused: 'u', AlsoUnused: 'v' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DefinitionSubstitutionError);
    expect((err as DefinitionSubstitutionError).missing).toEqual([]);
    expect((err as DefinitionSubstitutionError).unused).toEqual(['Unused', 'AlsoUnused']);
    expect((err as Error).message).toMatch(/not used.*Unused, AlsoUnused/);
  });

  test('validateDefinition reports what asl-validator finds', () => {
    const res = validateDefinition({ StartAt: 'A', States: { A: { Type: 'Task', Resource: 'not-an-arn', Next: 'Missing' } } });
    expect(res.valid).toBe(false);
    expect(res.errors.join('\n')).toMatch(/Missing|Resource|arn/i);
  });

  test('values are JSON-escaped', () => {
    const out = substitute('{"a":"${X}"}', { X: 'say "hi"\\' });
    expect(JSON.parse(out)).toEqual({ a: 'say "hi"\\' });
  });

  test('localSubstitutions covers *FunctionArn and NotificationTopicArn only', () => {
    const text = '{"a":"${FooBarFunctionArn}","b":"${NotificationTopicArn}","c":"${Other}"}';
    const subs = localSubstitutions('local', '000000000000', text);
    expect(subs).toEqual({
      FooBarFunctionArn: 'arn:aws:lambda:local:000000000000:function:cdc-ledger-foo-bar',
      NotificationTopicArn: 'arn:aws:sns:local:000000000000:cdc-ledger-notifications',
    });
    expect(() => substitute(text, subs)).toThrow(/\$\{Other\}/);
  });

  test('walkStates finds states in Map Iterator (legacy) and Parallel branches', () => {
    const def = parseDefinition(
      JSON.stringify({
        StartAt: 'P',
        States: {
          P: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'T1', States: { T1: { Type: 'Task', Resource: 'arn:aws:lambda:local:0:function:t1', End: true } } },
              {
                StartAt: 'M',
                States: {
                  M: {
                    Type: 'Map',
                    Iterator: { StartAt: 'T2', States: { T2: { Type: 'Task', Resource: 'arn:aws:lambda:local:0:function:t2', End: true } } },
                    End: true,
                  },
                },
              },
            ],
            End: true,
          },
        },
      }),
    );
    const tasks = listTaskStates(def);
    expect(tasks.map((t) => [t.name, t.resource, t.insideMap, t.insideParallel])).toEqual([
      ['T1', 'arn:aws:lambda:local:0:function:t1', false, true],
      ['T2', 'arn:aws:lambda:local:0:function:t2', true, true],
    ]);
    expect(tasks[1]?.containers).toEqual([
      { kind: 'Parallel', name: 'P', branch: 1 },
      { kind: 'Map', name: 'M' },
    ]);
  });
});
