// Lets a benchmark import the project's TypeScript source directly: Node 24 strips
// the types itself; this hook only maps the `.js` specifiers the source uses (for
// the bundler) to the `.ts` files that exist.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (error) {
      if (
        specifier.startsWith('.') &&
        specifier.endsWith('.js') &&
        context.parentURL?.endsWith('.ts')
      )
        return next(`${specifier.slice(0, -3)}.ts`, context);
      throw error;
    }
  },
});
