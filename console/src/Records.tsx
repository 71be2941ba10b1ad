import { useEffect, useState } from "react";
import { Alert, Select, Table, Typography } from "antd";
import { Session, tenantApi } from "./api";
import { useT } from "./i18n";

// Lists come from the tenant API's introspection: the connections the user's roles can read.
const ROOTS = `{ __schema { queryType { fields { name type { name kind ofType { name } } } } } }`;
type Field = { name: string; type: { name: string | null; kind: string; ofType: { name: string | null } | null } };

export function Records({ session }: { session: Session }) {
  const t = useT();
  const [lists, setLists] = useState<string[]>([]);
  const [list, setList] = useState<string>();
  const [rows, setRows] = useState<Record<string, unknown>[]>([]);
  const [total, setTotal] = useState(0);
  const [page, setPage] = useState(1);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    tenantApi<{ __schema: { queryType: { fields: Field[] } } }>(session, ROOTS).then((r) => {
      const names = r.__schema.queryType.fields
        .filter((f) => (f.type.ofType?.name ?? f.type.name ?? "").endsWith("Connection"))
        .map((f) => f.name).sort();
      setLists(names);
      setList(names[0]);
    }, (e: Error) => setError(e.message));
  }, [session]);
  useEffect(() => {
    if (!list) return;
    const query = `query($n: Int!) { ${list}(first: $n) { totalCount edges { node { id createdAt } } } }`;
    tenantApi<Record<string, { totalCount: number; edges: { node: Record<string, unknown> }[] }>>(session, query, { n: 20 * page })
      .then((r) => { setRows(r[list].edges.map((e) => e.node).slice(-20)); setTotal(r[list].totalCount); setError(null); }, (e: Error) => setError(e.message));
  }, [session, list, page]);
  return (
    <section aria-labelledby="records-title">
      <Typography.Title level={2} id="records-title">{t("records")}</Typography.Title>
      <Select aria-label={t("entity")} style={{ minWidth: 240, marginBottom: 16 }} value={list} onChange={(v) => { setList(v); setPage(1); }} options={lists.map((l) => ({ value: l, label: l }))} />
      {error && <Alert type="error" role="alert" title={error} />}
      <Table rowKey="id" dataSource={rows} pagination={{ current: page, pageSize: 20, total, onChange: setPage }}
        columns={[{ title: t("id"), dataIndex: "id" }, { title: "createdAt", dataIndex: "createdAt" }]} />
    </section>
  );
}
