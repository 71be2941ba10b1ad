import { useContext, useState } from "react";
import { Alert, Button, Card, Form, Input, Select } from "antd";
import { ApiError, login, Session } from "./api";
import { I18n, useT } from "./i18n";

export function LanguageSwitch() {
  const { locale, setLocale } = useContext(I18n);
  const t = useT();
  return (
    <Select aria-label={t("language")} value={locale} onChange={setLocale} style={{ width: 110 }}
      options={[{ value: "en", label: "English" }, { value: "zh", label: "中文" }]} />
  );
}

type Values = { tenant: string; login: string; password: string; totp?: string };

export function Login({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const t = useT();
  const [error, setError] = useState<ApiError | null>(null);
  const [needTotp, setNeedTotp] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (v: Values) => {
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await login(v.tenant, v.login, v.password, v.totp));
    } catch (e) {
      const err = e as ApiError;
      if (err.code === "TOTP_REQUIRED") setNeedTotp(true);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main style={{ display: "flex", justifyContent: "center", paddingTop: "10vh" }}>
      <Card title={<h1 style={{ fontSize: 20, margin: 0 }}>{t("title")}</h1>} extra={<LanguageSwitch />} style={{ width: 380, maxWidth: "95vw" }}>
        <Form layout="vertical" onFinish={submit}>
          <Form.Item label={t("tenant")} name="tenant" rules={[{ required: true }]}><Input id="tenant" /></Form.Item>
          <Form.Item label={t("login")} name="login" rules={[{ required: true }]}><Input id="login" autoComplete="username" /></Form.Item>
          <Form.Item label={t("password")} name="password" rules={[{ required: true }]}><Input.Password id="password" autoComplete="current-password" /></Form.Item>
          {needTotp && (
            <Form.Item label={t("totp")} name="totp" extra={t("totpNeeded")}><Input id="totp" inputMode="numeric" autoComplete="one-time-code" /></Form.Item>
          )}
          {error && <Alert role="alert" type="error" style={{ marginBottom: 16 }} title={error.message} description={error.hint} />}
          <Button type="primary" htmlType="submit" loading={busy} block>{t("signIn")}</Button>
        </Form>
      </Card>
    </main>
  );
}
