/**
 * Why one source value could not be converted (`not a date in format dd.MM.yyyy`). Field rules
 * throw it; the record rule catches it and turns it into a `FieldIssue` that also names the
 * canonical field and the source value. Not an `Error`: no stack trace is captured, so a file full
 * of bad rows stays cheap to map.
 */
export class ConversionProblem {
  constructor(readonly message: string) {}
}
