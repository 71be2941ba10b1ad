import { useEffect, useState } from "react";
import { Alert, Select, Space, Typography } from "antd";
import RjsfForm from "@rjsf/antd";
import validator from "@rjsf/validator-ajv8";
import type { RJSFSchema, UiSchema } from "@rjsf/utils";
import { admin, Session } from "./api";
import { documents } from "./docs";
import { useT } from "./i18n";

const PREVIEW = `query($id: String!, $locale: String, $dialect: FormDialect!) {
  formPreview(id: $id, locale: $locale, dialect: $dialect) }`;
type Preview = { jsonSchema: RJSFSchema; uiSchema: UiSchema };

// The preview uses RJSF's stock validator exactly as installed: it needs the draft-07 rendition.
export function Forms({ session }: { session: Session }) {
  const t = useT();
  const [ids, setIds] = useState<string[]>([]);
  const [id, setId] = useState<string>();
  const [locale, setLocale] = useState("zh");
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [ok, setOk] = useState(false);
  useEffect(() => {
    documents(session).then((docs) => {
      const found = docs.filter((d) => d.kind === "FORM" || (d.kind === "ENTITY" && d.source === "tenant")).map((d) => d.id);
      setIds(found);
      setId(found[0]);
    }, (e: Error) => setError(e.message));
  }, [session]);
  useEffect(() => {
    if (!id) return;
    setOk(false);
    admin<{ formPreview: Preview }>(session, PREVIEW, { id, locale, dialect: "DRAFT_07" })
      .then((r) => { setPreview(r.formPreview); setError(null); }, (e: Error) => setError(e.message));
  }, [session, id, locale]);
  return (
    <section aria-labelledby="forms-title">
      <Typography.Title level={2} id="forms-title">{t("forms")} · {t("preview")}</Typography.Title>
      <Space wrap style={{ marginBottom: 16 }}>
        <Select aria-label={t("forms")} style={{ minWidth: 260 }} value={id} onChange={setId} options={ids.map((i) => ({ value: i, label: i }))} />
        <Select aria-label={t("locale")} value={locale} onChange={setLocale} options={[{ value: "zh", label: "中文" }, { value: "en", label: "English" }]} />
      </Space>
      {error && <Alert type="error" role="alert" title={error} />}
      {ok && <Alert type="success" role="status" title={t("submitted")} />}
      {preview && (
        <div data-testid="form-preview" style={{ maxWidth: 720 }}>
          <RjsfForm schema={preview.jsonSchema} uiSchema={preview.uiSchema} validator={validator} onSubmit={() => setOk(true)} />
        </div>
      )}
    </section>
  );
}
