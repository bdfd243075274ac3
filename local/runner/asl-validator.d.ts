// asl-validator 4.x ships no type declarations; this covers the part of its JS API we use.
declare module 'asl-validator' {
  interface AslValidatorError {
    readonly 'Error code': string;
    readonly Message: string;
    readonly schemaError?: { readonly instancePath: string; readonly schemaPath: string };
  }
  interface AslValidatorResult {
    readonly isValid: boolean;
    readonly errors: readonly AslValidatorError[];
    readonly errorsText: (separator?: string) => string;
  }
  /** NOTE: mutates `definition` (adds `QueryLanguage` to every state); pass a copy. */
  function validator(definition: unknown, options?: { readonly checkPaths: boolean; readonly checkArn: boolean }): AslValidatorResult;
  export = validator;
}
