/**
 * The XML of the Query APIs' answers, read by one parser with a bound on
 * nesting. Their answers nest five or six elements; without a bound a
 * hostile answer costs a stack frame per level in whatever walks the result.
 */
import { XMLParser } from 'fast-xml-parser';
import { ProtocolError } from './errors';

/** How deeply an answer's elements may nest. */
export const MAX_XML_DEPTH = 64;

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false, trimValues: true, maxNestedTags: MAX_XML_DEPTH });

/**
 * Text of a well-formed document to an object (attributes and namespaces
 * left out, values as text); nesting past MAX_XML_DEPTH is a ProtocolError
 * naming `source`.
 */
export function parseXml(text: string, source: string): unknown {
  try {
    return parser.parse(text);
  } catch (err) {
    // The parser's own check, made while it descends; its error has no type of its own.
    if (err instanceof Error && err.message === 'Maximum nested tags exceeded') throw new ProtocolError(`${source}: XML elements nest deeper than ${MAX_XML_DEPTH} levels`);
    throw err;
  }
}
