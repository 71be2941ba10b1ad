import { useEffect, useState } from "react";
import { Alert, Table, Tag, Typography } from "antd";
import { Session } from "./api";
import { documents, MetaDoc } from "./docs";
import { useT } from "./i18n";

type Prop = { type?: string; format?: string; "x-kind"?: string; enum?: unknown[]; "x-relation"?: { entity: string } };
const kindOf = (p: Prop) => p["x-relation"] ? `relation → ${p["x-relation"].entity}` : p["x-kind"] ?? (p.enum ? "enum" : p.format ?? p.type ?? "?");

export function Entities({ session }: { session: Session }) {
  const t = useT();
  const [docs, setDocs] = useState<MetaDoc[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { documents(session).then(setDocs, (e: Error) => setError(e.message)); }, [session]);
  const entities = docs.filter((d) => d.kind === "ENTITY");
  return (
    <section aria-labelledby="entities-title">
      <Typography.Title level={2} id="entities-title">{t("entities")}</Typography.Title>
      {error && <Alert type="error" title={error} />}
      <Table rowKey="id" dataSource={entities} pagination={{ pageSize: 20 }}
        expandable={{ expandedRowRender: (d) => (
          <Table size="small" rowKey="name" pagination={false}
            dataSource={Object.entries((d.body.properties ?? {}) as Record<string, Prop>).map(([name, p]) => ({ name, kind: kindOf(p) }))}
            columns={[{ title: t("fields"), dataIndex: "name" }, { title: t("kind"), dataIndex: "kind" }]} />
        ) }}
        columns={[
          { title: t("id"), dataIndex: "id" },
          { title: t("owner"), dataIndex: "source", render: (s: string) => <Tag color={s === "tenant" ? "green" : "default"}>{s}</Tag> },
          { title: t("fields"), render: (_: unknown, d: MetaDoc) => Object.keys(d.body.properties ?? {}).length },
          { title: "", render: (_: unknown, d: MetaDoc) => (d.source === "tenant" ? t("editable") : t("readOnly")) },
        ]} />
    </section>
  );
}
