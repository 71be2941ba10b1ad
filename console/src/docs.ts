import { admin, Session } from "./api";

export type MetaDoc = { id: string; kind: "ENTITY" | "FORM" | "PERMISSION" | "WORKFLOW"; source: string; body: Record<string, unknown> };
const DOCS = "query($d: Boolean!) { metadataDocuments(draft: $d) { id kind source body } }";
export const documents = async (s: Session, draft = false) =>
  (await admin<{ metadataDocuments: MetaDoc[] }>(s, DOCS, { d: draft })).metadataDocuments;
