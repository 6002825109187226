import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, parse, specifiedRules, validate, visit, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { GraphQLLimits } from '../config';

/**
 * What one document may ask for (depth counting the root field as 1, aliases,
 * cost, tokens, directives), the same on every path a document arrives by:
 * Apollo takes the rules and the parse option, and graphql-ws runs `check`
 * with exactly the same ones, so a subscription cannot do what a query may not.
 */
export interface DocumentLimits {
  /** For Apollo: the validation rules beyond graphql-js's own, and armor's plugins (suggestion masking). */
  validationRules: ValidationRule[];
  apolloPlugins: ApolloServerPlugin[];
  parseOptions: { maxTokens: number };
  /**
   * Parses and validates `query` as Apollo would: the document, or the errors
   * with Apollo's codes (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED).
   */
  check(schema: GraphQLSchema, query: unknown): { document: DocumentNode } | { errors: GraphQLError[] };
}

/**
 * Documents that passed `check`, by query text, for each schema: every device
 * subscribes with the same few documents, so each is parsed and validated once
 * and one AST serves every subscription (a parsed document with its tokens and
 * locations is about 4 KiB that a live subscription holds for its lifetime).
 * Bounded by entries and by the memory their parsed forms hold, not by their
 * texts: a document's AST costs up to 160 times its text (issue 25: 4 MiB of
 * text held 161 MiB of parsed documents).
 */
const VALID_DOCUMENTS_MAX = 1000;
const VALID_DOCUMENTS_MAX_BYTES = 32 * 1024 * 1024;
/**
 * Heap per AST node and per token a parsed document keeps (each node holds its
 * Location, and the Location the whole token list). Measured with graphql 16.15
 * on Node 20: 145 to 175 bytes per node or token, whatever the document's shape
 * (many fields, nested selections, a long comment, a tiny query); rounded up.
 */
const BYTES_PER_NODE_OR_TOKEN = 200;

/** What a parsed document holds on the heap, estimated: its text (two bytes a character at worst) and its nodes and tokens. */
export function parsedDocumentBytes(document: DocumentNode, query: string): number {
  let items = 0;
  for (let token = document.loc?.startToken ?? null; token; token = token.next) items += 1;
  visit(document, {
    enter() {
      items += 1;
    },
  });
  return 2 * query.length + BYTES_PER_NODE_OR_TOKEN * items;
}

/** armor's mask, for the path that does not go through its Apollo plugin. */
const SUGGESTION = /Did you mean ".+"\?/g;
const SUGGESTION_MASK = '[Suggestion hidden]';

export function documentLimits(limits: GraphQLLimits, options: { suggestions: boolean }): DocumentLimits {
  const { maxDepth, maxAliases, maxCost, maxTokens } = limits;
  const armor = new ApolloArmor({
    maxDepth: { n: maxDepth, ignoreIntrospection: true },
    // One request trying many logins through aliases.
    maxAliases: { n: maxAliases },
    costLimit: { maxCost, ignoreIntrospection: true },
    // Token counting is graphql-js's own parse option: armor's version re-parses in a plugin hook and turns syntax errors into 500s.
    maxTokens: { enabled: false },
    maxDirectives: { n: 10 },
    blockFieldSuggestion: { enabled: !options.suggestions },
  }).protect();
  const validationRules = armor.validationRules as ValidationRule[];
  const rules = [...specifiedRules, ...validationRules];
  const withCode = (error: GraphQLError, code: string) =>
    new GraphQLError(options.suggestions ? error.message : error.message.replace(SUGGESTION, SUGGESTION_MASK).trim(), {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      extensions: { ...error.extensions, code },
    });

  const validDocuments = new WeakMap<GraphQLSchema, LRUCache<string, DocumentNode>>();
  const cacheFor = (schema: GraphQLSchema) => {
    let cache = validDocuments.get(schema);
    if (!cache) {
      // A document estimated over the whole bound is not kept at all (lru-cache skips it); it is checked again when it comes back.
      cache = new LRUCache({ max: VALID_DOCUMENTS_MAX, maxSize: VALID_DOCUMENTS_MAX_BYTES, sizeCalculation: parsedDocumentBytes });
      validDocuments.set(schema, cache);
    }
    return cache;
  };

  return {
    validationRules,
    apolloPlugins: armor.plugins as ApolloServerPlugin[],
    parseOptions: { maxTokens },
    check(schema, query) {
      if (typeof query !== 'string' || query.length === 0) {
        return { errors: [new GraphQLError('The operation carries no query document', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
      }
      const cache = cacheFor(schema);
      const known = cache.get(query);
      if (known) return { document: known };
      let document: DocumentNode;
      try {
        document = parse(query, { maxTokens });
      } catch (error) {
        if (error instanceof GraphQLError) return { errors: [withCode(error, 'GRAPHQL_PARSE_FAILED')] };
        throw error;
      }
      const errors = validate(schema, document, rules);
      if (errors.length > 0) return { errors: errors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')) };
      cache.set(query, document);
      return { document };
    },
  };
}
