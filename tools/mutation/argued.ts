// Surviving mutants that are not missing tests, each with the argument why: an equivalent
// mutant (no input can tell it apart), or one whose effect only a benchmark can see. Matched
// by file, operator and a piece of the source line, so they survive line moves. Every entry
// is a claim a reviewer should be able to check by reading the line.
export interface ArguedSurvivor {
  file: string;
  operator: string;
  lineContains: string;
  why: string;
}

export const arguedSurvivors: ArguedSurvivor[] = [];
