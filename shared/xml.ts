/**
 * The XML of the Query APIs' answers, read by one parser with a bound on
 * nesting. Their answers nest five or six elements; without a bound a
 * hostile answer costs a stack frame per level in whatever walks the result.
 */
import { XMLParser } from 'fast-xml-parser';
import { errorMessage, ProtocolError } from './errors';

/** How deeply an answer's elements may nest. */
export const MAX_XML_DEPTH = 64;

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false, trimValues: true, maxNestedTags: MAX_XML_DEPTH });

/**
 * Text of a well-formed document to an object (attributes and namespaces
 * left out, values as text); nesting past MAX_XML_DEPTH, and whatever else
 * the parser refuses (an external entity, an entity expansion past its
 * limits), is a ProtocolError naming `source`.
 */
export function parseXml(text: string, source: string): unknown {
  try {
    return parser.parse(text);
  } catch (err) {
    // The parser's errors have no type of their own; the nesting one is its check made while it descends.
    if (err instanceof Error && err.message === 'Maximum nested tags exceeded') throw new ProtocolError(`${source}: XML elements nest deeper than ${MAX_XML_DEPTH} levels`);
    throw new ProtocolError(`${source}: XML the parser refuses: ${errorMessage(err)}`);
  }
}
