import { useState } from "react";
import { Button, Layout, Menu, Space, Typography } from "antd";
import { can, Session } from "./api";
import { Key, useT } from "./i18n";
import { LanguageSwitch } from "./Login";
import { Entities } from "./Entities";
import { Forms } from "./Forms";
import { Changes } from "./Changes";
import { Records } from "./Records";

const SCREENS: Key[] = ["entities", "forms", "changes", "records", "graphiql"];

export function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const t = useT();
  const visible = SCREENS.filter((s) => can(session, s));
  const [screen, setScreen] = useState<Key>(visible[0]);
  const open = (key: string) => {
    if (key === "graphiql") {
      window.open(`/console/graphiql.html?endpoint=${encodeURIComponent(session.roles.includes("admin") ? "/graphql/admin" : "/graphql")}#token=${session.accessToken}`, "_blank");
      return;
    }
    setScreen(key as Key);
  };
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Header style={{ display: "flex", alignItems: "center", gap: 16, background: "#fff", flexWrap: "wrap" }}>
        <Typography.Title level={1} style={{ fontSize: 18, margin: 0 }}>{t("title")}</Typography.Title>
        <nav aria-label="main" style={{ flex: 1, minWidth: 200 }}>
          <Menu mode="horizontal" selectedKeys={[screen]} onClick={(e) => open(e.key)} items={visible.map((k) => ({ key: k, label: t(k) }))} />
        </nav>
        <Space>
          <span>{session.tenant} · {session.roles.join(", ")}</span>
          <LanguageSwitch />
          <Button onClick={onSignOut}>{t("signOut")}</Button>
        </Space>
      </Layout.Header>
      <Layout.Content style={{ padding: 24 }}>
        <main>
          {screen === "entities" && <Entities session={session} />}
          {screen === "forms" && <Forms session={session} />}
          {screen === "changes" && <Changes session={session} />}
          {screen === "records" && <Records session={session} />}
        </main>
      </Layout.Content>
    </Layout>
  );
}
