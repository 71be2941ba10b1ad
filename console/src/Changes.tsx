import { useCallback, useEffect, useState } from "react";
import { Alert, Button, List, Space, Table, Typography } from "antd";
import { admin, ApiError, Session } from "./api";
import { useT } from "./i18n";

type Step = { summary: string; sql: string; destructive: boolean; refused: boolean; reason: string };
type Version = { version: number; publishedAt: string; publishedBy: string | null; note: string | null; destructive: boolean };
type Problem = { document: string; pointer: string; message: string; hint: string };
const PLAN = "{ plan { empty destructive steps { summary sql destructive refused reason } } }";
const VERSIONS = "{ tenant { metadataVersion } metadataVersions { version publishedAt publishedBy note destructive } }";
const PUBLISH = "mutation($allow: Boolean!) { publish(allowDestructive: $allow) { version changed } }";
const ROLLBACK = "mutation($v: Int!) { rollback(version: $v, allowDestructive: true) { version } }";

export function Changes({ session }: { session: Session }) {
  const t = useT();
  const [steps, setSteps] = useState<Step[] | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);
  const [current, setCurrent] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const refresh = useCallback(() => {
    admin<{ tenant: { metadataVersion: number }; metadataVersions: Version[] }>(session, VERSIONS).then((r) => {
      setVersions([...r.metadataVersions].reverse());
      setCurrent(r.tenant.metadataVersion);
    }, setError);
  }, [session]);
  useEffect(refresh, [refresh]);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try { await f(); refresh(); } catch (e) { setError(e as ApiError); }
  };
  const review = () => act(async () => setSteps((await admin<{ plan: { steps: Step[] } }>(session, PLAN)).plan.steps));
  const publish = () => act(async () => { await admin(session, PUBLISH, { allow: !!steps?.some((s) => s.destructive) }); setSteps(null); });
  const problems = (error?.details?.problems ?? []) as Problem[];
  return (
    <section aria-labelledby="changes-title">
      <Typography.Title level={2} id="changes-title">{t("changes")}</Typography.Title>
      <Space style={{ marginBottom: 16 }}>
        <Button onClick={review}>{t("plan")}</Button>
        <Button type="primary" disabled={!steps || steps.length === 0} onClick={publish}>{t("publish")}</Button>
      </Space>
      {error && <Alert type="error" role="alert" title={error.message.split("\n")[0]} description={error.hint} />}
      {problems.length > 0 && (
        <List size="small" dataSource={problems} renderItem={(p) => (
          <List.Item><code>{p.document}#{p.pointer}</code>: {p.message} — {p.hint}</List.Item>
        )} />
      )}
      {steps && (steps.length === 0 ? <Alert type="info" title={t("empty")} /> : (
        <List aria-label={t("plan")} bordered dataSource={steps} renderItem={(s) => (
          <List.Item style={{ color: s.destructive ? "#a8071a" : undefined }} data-destructive={s.destructive}>
            <div><strong>{s.summary}</strong>{s.destructive && ` (${t("destructive")}${s.reason ? ": " + s.reason : ""})`}
              <pre style={{ whiteSpace: "pre-wrap", margin: 0 }}>{s.sql}</pre></div>
          </List.Item>
        )} />
      ))}
      <Typography.Title level={3}>{t("versions")}</Typography.Title>
      <Table rowKey="version" dataSource={versions} pagination={{ pageSize: 10 }} columns={[
        { title: t("version"), dataIndex: "version" },
        { title: "", dataIndex: "publishedAt" },
        { title: t("publishedBy"), dataIndex: "publishedBy" },
        { title: t("note"), dataIndex: "note" },
        { title: "", render: (_: unknown, v: Version) => v.version !== current && (
          <Button size="small" onClick={() => act(() => admin(session, ROLLBACK, { v: v.version }))}>{t("rollback")} → {v.version}</Button>
        ) },
      ]} />
    </section>
  );
}
