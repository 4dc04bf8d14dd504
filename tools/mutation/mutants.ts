// Mutant generation from the TypeScript syntax tree: one small change per mutant, each a bug a
// person could write (an off-by-one in a comparison, a flipped condition, a dropped statement,
// a wrong constant), never a change in a type position. Lines marked `// mutation: ignore`
// are skipped (logging, messages).
import ts from "typescript";

export interface Mutant {
  /** file:line:column:operator, stable across runs of the same source. */
  id: string;
  file: string;
  line: number;
  column: number;
  start: number;
  end: number;
  original: string;
  replacement: string;
  operator: string;
}

const binaryReplacements: Partial<Record<ts.SyntaxKind, string>> = {
  [ts.SyntaxKind.LessThanToken]: "<=",
  [ts.SyntaxKind.LessThanEqualsToken]: "<",
  [ts.SyntaxKind.GreaterThanToken]: ">=",
  [ts.SyntaxKind.GreaterThanEqualsToken]: ">",
  [ts.SyntaxKind.EqualsEqualsEqualsToken]: "!==",
  [ts.SyntaxKind.ExclamationEqualsEqualsToken]: "===",
  [ts.SyntaxKind.EqualsEqualsToken]: "!=",
  [ts.SyntaxKind.ExclamationEqualsToken]: "==",
  [ts.SyntaxKind.PlusToken]: "-",
  [ts.SyntaxKind.MinusToken]: "+",
  [ts.SyntaxKind.AsteriskToken]: "/",
  [ts.SyntaxKind.SlashToken]: "*",
  [ts.SyntaxKind.PercentToken]: "*",
  [ts.SyntaxKind.AmpersandAmpersandToken]: "||",
  [ts.SyntaxKind.BarBarToken]: "&&",
  [ts.SyntaxKind.QuestionQuestionToken]: "&&",
  [ts.SyntaxKind.AmpersandToken]: "|",
  [ts.SyntaxKind.BarToken]: "&",
  [ts.SyntaxKind.CaretToken]: "&",
  [ts.SyntaxKind.LessThanLessThanToken]: ">>",
  [ts.SyntaxKind.GreaterThanGreaterThanToken]: "<<",
  [ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken]: "<<",
  [ts.SyntaxKind.PlusEqualsToken]: "-=",
  [ts.SyntaxKind.MinusEqualsToken]: "+=",
  [ts.SyntaxKind.BarEqualsToken]: "&=",
  [ts.SyntaxKind.AmpersandEqualsToken]: "|=",
};

function isStringy(node: ts.Expression): boolean {
  return ts.isStringLiteral(node) || ts.isTemplateExpression(node) || ts.isNoSubstitutionTemplateLiteral(node);
}

/** Inside a type, an error message, or a console/log call: not behaviour worth a mutant. */
function inIgnoredContext(node: ts.Node): boolean {
  for (let parent: ts.Node | undefined = node.parent; parent !== undefined; parent = parent.parent) {
    if (ts.isTypeNode(parent) || ts.isEnumDeclaration(parent) || ts.isImportDeclaration(parent)) return true;
    if (ts.isThrowStatement(parent)) return true;
    if (ts.isNewExpression(parent) && ts.isIdentifier(parent.expression) && /Error$/.test(parent.expression.text)) return true;
    if (ts.isCallExpression(parent) && ts.isPropertyAccessExpression(parent.expression) && ts.isIdentifier(parent.expression.expression) && parent.expression.expression.text === "console") return true;
  }
  return false;
}

function mutatedNumber(text: string): string | null {
  const value = Number(text.replace(/_/g, ""));
  if (!Number.isFinite(value)) return null;
  if (value === 0) return "1";
  if (value === 1) return "0";
  return String(value + 1);
}

export function mutantsOf(file: string, text: string): Mutant[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = text.split("\n");
  const mutants: Mutant[] = [];
  const add = (start: number, end: number, replacement: string, operator: string): void => {
    const { line, character } = source.getLineAndCharacterOfPosition(start);
    if (/\/\/ mutation: ignore/.test(lines[line] ?? "")) return;
    mutants.push({ id: `${file}:${line + 1}:${character + 1}:${operator}`, file, line: line + 1, column: character + 1, start, end, original: text.slice(start, end), replacement, operator });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isImportDeclaration(node)) return;
    if (!inIgnoredContext(node)) mutate(node);
    ts.forEachChild(node, visit);
  };

  const mutate = (node: ts.Node): void => {
    if (ts.isBinaryExpression(node)) {
      const kind = node.operatorToken.kind;
      const replacement = binaryReplacements[kind];
      const stringy = kind === ts.SyntaxKind.PlusToken && (isStringy(node.left) || isStringy(node.right));
      if (replacement !== undefined && !stringy) add(node.operatorToken.getStart(), node.operatorToken.getEnd(), replacement, `${node.operatorToken.getText()} -> ${replacement}`);
    } else if (ts.isPrefixUnaryExpression(node)) {
      if (node.operator === ts.SyntaxKind.ExclamationToken) add(node.getStart(), node.operand.getStart(), "", "remove !");
      else if (node.operator === ts.SyntaxKind.PlusPlusToken) add(node.getStart(), node.getStart() + 2, "--", "++ -> --");
      else if (node.operator === ts.SyntaxKind.MinusMinusToken) add(node.getStart(), node.getStart() + 2, "++", "-- -> ++");
    } else if (ts.isPostfixUnaryExpression(node)) {
      const at = node.getEnd() - 2;
      if (node.operator === ts.SyntaxKind.PlusPlusToken) add(at, at + 2, "--", "++ -> --");
      else add(at, at + 2, "++", "-- -> ++");
    } else if (ts.isNumericLiteral(node)) {
      const replacement = mutatedNumber(node.text);
      if (replacement !== null && !ts.isElementAccessExpression(node.parent)) add(node.getStart(), node.getEnd(), replacement, `${node.getText()} -> ${replacement}`);
    } else if (node.kind === ts.SyntaxKind.TrueKeyword) {
      add(node.getStart(), node.getEnd(), "false", "true -> false");
    } else if (node.kind === ts.SyntaxKind.FalseKeyword) {
      add(node.getStart(), node.getEnd(), "true", "false -> true");
    } else if (ts.isIfStatement(node)) {
      const condition = node.expression;
      add(condition.getStart(), condition.getEnd(), "true", "if (...) -> if (true)");
      add(condition.getStart(), condition.getEnd(), "false", "if (...) -> if (false)");
    } else if (ts.isExpressionStatement(node) && (ts.isCallExpression(node.expression) || ts.isBinaryExpression(node.expression) || ts.isPostfixUnaryExpression(node.expression) || ts.isPrefixUnaryExpression(node.expression))) {
      add(node.getStart(), node.getEnd(), ";", "remove statement");
    }
  };

  visit(source);
  return mutants;
}

export function applyMutant(text: string, mutant: Mutant): string {
  return text.slice(0, mutant.start) + mutant.replacement + text.slice(mutant.end);
}
