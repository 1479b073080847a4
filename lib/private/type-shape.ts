import * as path from 'node:path';
import * as ts from 'typescript';
import { Shape } from './shape';

/** cdk8s value classes, which a configuration holds as instances. */
const VALUE_CLASSES: Readonly<Record<string, Shape['kind']>> = { Duration: 'duration', Size: 'size' };

/**
 * The {@link Shape} of the interface or type alias `name` exported by `file`, for `npm run schemas` (it loads the
 * TypeScript compiler, which nothing at run time does). The file is compiled with the project's `tsconfig.json`, and
 * must compile without errors: an import that does not resolve would otherwise read as `any`. A type this cannot say
 * exactly (a tuple, an intersection, a class other than `Duration` and `Size`, a function, `any`) is an error, never a
 * looser shape.
 *
 * @param file a TypeScript module, relative to `root`
 */
export function typeShape(root: string, file: string, name: string): Shape {
  const fileName = path.join(root, file);
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
  if (config.error) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(config.error.messageText, '\n')}`);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram([fileName], { ...options, noEmit: true });
  const source = program.getSourceFile(fileName);
  if (!source) throw new Error(`${file}: not found`);
  const errors = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
  if (errors.length > 0) {
    throw new Error(`${file} does not compile:\n${errors.map(d => `  ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`).join('\n')}`);
  }
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(source);
  const exported = symbol && checker.getExportsOfModule(symbol).find(s => s.name === name);
  if (!exported) throw new Error(`${file}: exports no ${name}`);
  return shapeOf(checker, checker.getDeclaredTypeOfSymbol(exported), [name]);
}

function shapeOf(checker: ts.TypeChecker, type: ts.Type, at: readonly string[]): Shape {
  const unsupported = (what: string): never => {
    throw new Error(`${at.join('.')}: ${what} (${checker.typeToString(type)}) has no shape; use plain objects, arrays, records, unions and literals`);
  };
  if (at.length > 20) unsupported('a type this deep (a recursive type?)');
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) unsupported('any or unknown');
  if (type.isUnion()) {
    const members = type.types.filter(t => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    if (members.every(t => t.isLiteral() || t.flags & ts.TypeFlags.BooleanLiteral)) {
      if (members.every(t => t.flags & ts.TypeFlags.BooleanLiteral)) return { kind: 'boolean' };
      return { kind: 'literal', values: members.map(t => literalValue(checker, t)) };
    }
    const shapes = members.map(t => shapeOf(checker, t, at));
    return shapes.length === 1 ? shapes[0] : { kind: 'union', of: shapes };
  }
  if (type.isIntersection()) unsupported('an intersection');
  if (type.isStringLiteral() || type.isNumberLiteral() || type.flags & ts.TypeFlags.BooleanLiteral) {
    return { kind: 'literal', values: [literalValue(checker, type)] };
  }
  if (type.flags & ts.TypeFlags.StringLike) return { kind: 'string' };
  if (type.flags & ts.TypeFlags.NumberLike) return { kind: 'number' };
  if (type.flags & ts.TypeFlags.BooleanLike) return { kind: 'boolean' };
  const symbol = type.getSymbol();
  if (symbol && Object.hasOwn(VALUE_CLASSES, symbol.getName()) && symbol.flags & ts.SymbolFlags.Class) {
    return { kind: VALUE_CLASSES[symbol.getName()] } as Shape;
  }
  if (symbol && symbol.flags & ts.SymbolFlags.Class) unsupported('a class instance');
  if (checker.isTupleType(type)) unsupported('a tuple');
  if (checker.isArrayType(type)) return { kind: 'array', of: shapeOf(checker, checker.getTypeArguments(type as ts.TypeReference)[0], [...at, '[]']) };
  if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) unsupported('a function');
  const properties = checker.getPropertiesOfType(type);
  const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  if (index && properties.length > 0) unsupported('an object with both fields and an index signature');
  if (index) return { kind: 'record', of: shapeOf(checker, index.type, [...at, '*']) };
  if (properties.some(p => p.flags & ts.SymbolFlags.Method)) unsupported('an object with methods');
  const fields: Record<string, { shape: Shape; optional: boolean }> = {};
  for (const property of properties) {
    const declaration = property.valueDeclaration ?? property.declarations?.[0];
    const propertyType = declaration ? checker.getTypeOfSymbolAtLocation(property, declaration) : checker.getTypeOfSymbol(property);
    // `x?: T` and `x: T | undefined` alike: at run time a field left out and one set to undefined are the same
    const optional = (property.flags & ts.SymbolFlags.Optional) !== 0
      || (propertyType.isUnion() && propertyType.types.some(t => t.flags & ts.TypeFlags.Undefined));
    fields[property.name] = { shape: shapeOf(checker, propertyType, [...at, property.name]), optional };
  }
  return { kind: 'object', fields };
}

function literalValue(checker: ts.TypeChecker, type: ts.Type): string | number | boolean {
  if (type.isStringLiteral() || type.isNumberLiteral()) return type.value;
  return checker.typeToString(type) === 'true';
}
