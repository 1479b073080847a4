import * as path from 'node:path';
import * as ts from 'typescript';
import { Shape } from './shape';

/** cdk8s value classes, which a configuration holds as instances. */
const VALUE_CLASSES: Readonly<Record<string, Shape['kind']>> = { Duration: 'duration', Size: 'size' };

/**
 * The {@link Shape} of the interface or type alias `name` exported by `file`, for `npm run schemas` (it loads the
 * TypeScript compiler, which nothing at run time does).
 *
 * @param file a TypeScript module, relative to `root`
 */
export function typeShape(root: string, file: string, name: string): Shape {
  const fileName = path.join(root, file);
  const program = ts.createProgram([fileName], {
    strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, noEmit: true, skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(fileName);
  if (!source) throw new Error(`${file}: not found`);
  const symbol = checker.getSymbolAtLocation(source);
  const exported = symbol && checker.getExportsOfModule(symbol).find(s => s.name === name);
  if (!exported) throw new Error(`${file}: exports no ${name}`);
  return shapeOf(checker, checker.getDeclaredTypeOfSymbol(exported), [name]);
}

function shapeOf(checker: ts.TypeChecker, type: ts.Type, at: readonly string[]): Shape {
  if (at.length > 20) throw new Error(`${at.join('.')}: too deep (a recursive type?)`);
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return { kind: 'any' };
  if (type.isUnion()) {
    const members = type.types.filter(t => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    const literals = members.filter(t => t.isLiteral() || t.flags & ts.TypeFlags.BooleanLiteral);
    if (literals.length === members.length) {
      if (members.every(t => t.flags & ts.TypeFlags.BooleanLiteral)) return { kind: 'boolean' };
      return { kind: 'literal', values: members.map(t => literalValue(checker, t)) };
    }
    const shapes = members.map(t => shapeOf(checker, t, at));
    return shapes.length === 1 ? shapes[0] : { kind: 'union', of: shapes };
  }
  if (type.isStringLiteral() || type.isNumberLiteral() || type.flags & ts.TypeFlags.BooleanLiteral) {
    return { kind: 'literal', values: [literalValue(checker, type)] };
  }
  if (type.flags & ts.TypeFlags.StringLike) return { kind: 'string' };
  if (type.flags & ts.TypeFlags.NumberLike) return { kind: 'number' };
  if (type.flags & ts.TypeFlags.BooleanLike) return { kind: 'boolean' };
  const valueClass = type.getSymbol()?.getName();
  if (valueClass && Object.hasOwn(VALUE_CLASSES, valueClass)) return { kind: VALUE_CLASSES[valueClass] } as Shape;
  if (checker.isArrayType(type) || checker.isTupleType(type)) {
    const [element] = checker.getTypeArguments(type as ts.TypeReference);
    return { kind: 'array', of: shapeOf(checker, element, [...at, '[]']) };
  }
  if (type.getCallSignatures().length > 0) return { kind: 'any' };
  const properties = checker.getPropertiesOfType(type);
  const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  if (properties.length === 0 && index) return { kind: 'record', of: shapeOf(checker, index.type, [...at, '*']) };
  const fields: Record<string, { shape: Shape; optional: boolean }> = {};
  for (const property of properties) {
    const declaration = property.valueDeclaration ?? property.declarations?.[0];
    const propertyType = declaration ? checker.getTypeOfSymbolAtLocation(property, declaration) : checker.getTypeOfSymbol(property);
    const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
    fields[property.name] = { shape: shapeOf(checker, propertyType, [...at, property.name]), optional };
  }
  return { kind: 'object', fields };
}

function literalValue(checker: ts.TypeChecker, type: ts.Type): string | number | boolean {
  if (type.isStringLiteral() || type.isNumberLiteral()) return type.value;
  return checker.typeToString(type) === 'true';
}
