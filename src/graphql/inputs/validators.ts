export { IsEmail, IsIn, IsInt, IsNotEmpty, IsOptional, Length, Matches, Max, MaxLength, Min, MinLength, ValidateBy, ValidateNested } from 'class-validator';

/** Stacks several property decorators into one. */
export function applyDecorators(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => decorators.forEach((decorate) => decorate(target, key));
}
