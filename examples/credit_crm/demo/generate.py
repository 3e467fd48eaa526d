"""Demo data for the credit CRM: `loom demo-data examples/credit_crm --customers N`.

Seeded, Chinese-language, 24 months of history ending at the writer's clock, seven
regions. Each customer gets a latent reliability θ ~ Beta(5, 2) that drives how late
they pay, how often they complain, whether they keep their promises to pay, and
whether they churn — so the credit score, the warnings and the dashboards have real
signal to find. About 64 records per customer (research brief §5):

    contacts 2.5 · leads 4 · deals 1.5 · quotes ~1.2 · contracts ~1.2 · orders ~5
    invoices ~5 · payments ~5.5 · commitments ~5 · tickets ~3 (15 % complaints)
    interactions ~25 · surveys ~1.2 · the customer itself

Everything is written through the platform's `DemoWriter` (the normal record
lifecycle), one customer's history at a time in time order, so memory stays flat
whatever N is. This file is data generation only: no business rule lives here — the
score, grade, ageing and warnings come from the bundle's rules and formulas.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol


class Writer(Protocol):
    def at(self, when: datetime) -> None: ...
    def now(self) -> datetime: ...
    def working_after(self, start: datetime, hours: float) -> datetime: ...
    def department(self, key: str, name: Any, *, parent: str | None = None,
                   head: str | None = None) -> None: ...
    def user(self, username: str, *, roles: list[str], department: str | None = None,
             display_name: str | None = None) -> Any: ...
    def create(self, form: str, data: dict[str, Any], *, by: str | None = None,
               owner: str | None = None, at: datetime | None = None) -> str: ...
    def update(self, form: str, record_id: str, patch: dict[str, Any], *,
               by: str | None = None, at: datetime | None = None) -> dict[str, Any]: ...


REGIONS = {  # value: (label, admin-division code prefix for the credit code, cities)
    "north": ("华北", "110000", ["北京", "天津", "石家庄", "太原", "呼和浩特"]),
    "east": ("华东", "310000", ["上海", "杭州", "南京", "苏州", "宁波", "合肥", "济南"]),
    "south": ("华南", "440300", ["深圳", "广州", "东莞", "佛山", "厦门", "南宁"]),
    "central": ("华中", "420100", ["武汉", "长沙", "郑州", "南昌"]),
    "southwest": ("西南", "510100", ["成都", "重庆", "昆明", "贵阳"]),
    "northwest": ("西北", "610100", ["西安", "兰州", "银川", "乌鲁木齐"]),
    "northeast": ("东北", "210100", ["沈阳", "大连", "长春", "哈尔滨"]),
}
REGION_WEIGHTS = [0.18, 0.27, 0.2, 0.11, 0.11, 0.06, 0.07]
TEAMS = {"ka": "大客户部", "smb": "中小企业部", "channel": "渠道部", "gov": "政企部",
         "inside": "电销部", "new_biz": "新业务部"}
INDUSTRIES = {
    "manufacturing": ["精密机械", "汽车零部件", "电子制造", "新材料", "智能装备"],
    "retail": ["连锁商贸", "百货", "电商", "食品商贸"],
    "it": ["信息技术", "软件", "数据科技", "网络科技"],
    "construction": ["建设工程", "建筑安装", "装饰工程"],
    "logistics": ["物流", "供应链管理", "仓储运输"],
    "healthcare": ["医疗器械", "生物科技", "医药"],
    "energy": ["新能源", "电力设备", "光伏科技"],
    "finance": ["融资租赁", "商业保理"],
}
PRODUCT_LINES = ["software", "hardware", "cloud", "consulting", "maintenance"]
PRODUCT_ITEMS = {
    "software": [("ERP 许可", 48000), ("CRM 许可", 26000), ("实施服务", 1800)],
    "hardware": [("服务器", 42000), ("工控机", 9800), ("网络设备", 6500)],
    "cloud": [("云主机（年）", 12000), ("对象存储（年）", 3600), ("数据库服务（年）", 18000)],
    "consulting": [("咨询人天", 3500), ("数字化诊断", 60000)],
    "maintenance": [("年度运维", 36000), ("驻场运维（月）", 15000)],
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "强", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
         "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "丽娟", "国庆", "文博", "子涵"]
TITLES = ["总经理", "采购经理", "财务总监", "IT经理", "运营总监", "技术主管", "行政主管"]
NAME_WORDS = ["华", "盛", "恒", "通", "达", "远", "瑞", "鑫", "泰", "宏", "信", "安", "德", "诚",
              "兴", "嘉", "博", "创", "联", "新", "天", "中", "金", "永", "正", "明", "凯", "峰"]
SUFFIXES = ["有限公司", "股份有限公司", "集团有限公司"]
SOURCES = ["referral", "website", "exhibition", "cold_call", "partner", "advertising"]
SOURCE_WEIGHTS = [0.18, 0.25, 0.15, 0.17, 0.15, 0.10]
TERMS = [("net30", 30), ("net60", 60), ("net90", 90), ("cod", 0)]
TERM_WEIGHTS = [0.60, 0.25, 0.10, 0.05]
SUBJECTS = {
    "consultation": ["咨询发票开具流程", "咨询新版本功能", "询问续费价格", "咨询接口文档"],
    "fault": ["系统登录异常", "设备无法开机", "报表导出失败", "网络频繁中断", "数据同步延迟"],
    "request": ["申请增加账号", "申请上门培训", "申请数据迁移", "申请延长质保"],
    "complaint": ["交付延期投诉", "服务响应慢投诉", "产品质量投诉", "账单错误投诉", "售后态度投诉"],
}
INTERACTION_SUMMARIES = {
    "call": ["电话沟通采购计划", "电话回访使用情况", "电话确认付款安排", "电话了解新需求"],
    "visit": ["上门拜访决策人", "现场演示方案", "拜访财务对接人", "季度业务回顾"],
    "email": ["发送报价资料", "发送合同草稿", "邮件确认交付计划", "发送对账单"],
    "wechat": ["微信沟通交付进度", "微信确认会议时间", "微信发送产品资料"],
    "meeting": ["项目启动会", "需求评审会", "年度合作会议"],
}
ARTICLES = [
    ("如何开具增值税专用发票", "faq", None), ("ERP 许可续费说明", "policy", "software"),
    ("服务器开机故障排查", "troubleshooting", "hardware"), ("云主机扩容操作指南", "howto", "cloud"),
    ("报表导出失败的常见原因", "troubleshooting", "software"),
    ("售后服务响应时限说明", "policy", None),
    ("对象存储计费方式", "faq", "cloud"), ("驻场运维服务范围", "policy", "maintenance"),
    ("数据迁移申请流程", "howto", "software"), ("网络设备固件升级", "howto", "hardware"),
    ("投诉处理流程与时限", "policy", None), ("数字化诊断交付物说明", "faq", "consulting"),
]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
HISTORY_DAYS = 730
TZ_OFFSET = timedelta(hours=8)  # business hours below are Beijing time


# ----------------------------------------------------------------------------- helpers

def uscc(rng: random.Random, division: str) -> str:
    """A well-formed unified social credit code (GB 32100 check character)."""
    body = "91" + division + "".join(rng.choice(USCC_ALPHABET[:10]) for _ in range(9))
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def money(value: float | Decimal) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def work_time(rng: random.Random, day: date) -> datetime:
    """An instant during Beijing business hours on `day`."""
    local = datetime.combine(day, time(9, 0)) + timedelta(minutes=rng.randint(0, 9 * 60))
    return (local - TZ_OFFSET).replace(tzinfo=UTC)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "136", "158", "186", "177", "150"]) + \
        "".join(str(rng.randint(0, 9)) for _ in range(8))


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; fine for the small rates used here."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def seasonal_ok(rng: random.Random, day: date) -> bool:
    """Thin orders in February (Spring Festival) and add some in Q4."""
    factor = 0.7 if day.month == 2 else 1.2 if day.month >= 10 else 1.0
    return rng.random() < factor / 1.2


@dataclass
class Staff:
    reps: dict[str, list[str]] = field(default_factory=dict)  # team -> usernames
    directors: dict[str, str] = field(default_factory=dict)
    service: list[str] = field(default_factory=list)
    finance: list[str] = field(default_factory=list)
    gm: str = "gm"


# ------------------------------------------------------------------------------ staff

def make_staff(w: Writer, rng: random.Random, customers: int) -> Staff:
    staff = Staff()
    w.department("company", {"zh": "公司", "en": "Company"}, head="gm")
    w.department("sales", {"zh": "销售中心", "en": "Sales"}, parent="company")
    w.department("service", {"zh": "客户服务部", "en": "Customer service"}, parent="company")
    w.department("finance", {"zh": "财务部", "en": "Finance"}, parent="company")
    w.user("gm", roles=["general_manager"], department="company", display_name=person(rng))
    w.user("legal01", roles=["legal"], department="company", display_name=person(rng))
    reps_total = max(12, min(240, customers // 60))
    for i, (team, name) in enumerate(TEAMS.items()):
        dept = f"sales_{team}"
        director = f"director_{team}"
        w.department(dept, {"zh": name, "en": team}, parent="sales", head=director)
        w.user(director, roles=["sales_director"], department=dept, display_name=person(rng))
        staff.directors[team] = director
        count = max(2, reps_total // len(TEAMS) + (1 if i < reps_total % len(TEAMS) else 0))
        staff.reps[team] = []
        for n in range(count):
            username = f"{team}_rep{n + 1:02d}"
            w.user(username, roles=["sales_rep"], department=dept, display_name=person(rng))
            staff.reps[team].append(username)
    for n in range(max(3, customers // 250)):
        username = f"cs{n + 1:02d}"
        w.user(username, roles=["customer_service"], department="service",
               display_name=person(rng))
        staff.service.append(username)
    for n in range(max(2, customers // 500)):
        username = f"fin{n + 1:02d}"
        w.user(username, roles=["finance"], department="finance", display_name=person(rng))
        staff.finance.append(username)
    return staff


def make_articles(w: Writer, rng: random.Random, start: datetime, staff: Staff) -> None:
    for i, (title, category, line) in enumerate(ARTICLES):
        data: dict[str, Any] = {
            "title": title, "category": category,
            "body": f"<p>{title}：请按以下步骤操作……</p>",
            "status": "published" if i % 5 else "review",
            "views": rng.randint(20, 3000), "helpful": rng.randint(0, 300)}
        if line:
            data["product_line"] = line
        w.create("article", data, by=rng.choice(staff.service),
                 at=start + timedelta(days=rng.randint(0, 300)))


# --------------------------------------------------------------------------- customer

class CustomerHistory:
    """One customer's 24 months, written in time order."""

    def __init__(self, w: Writer, rng: random.Random, staff: Staff, *, index: int,
                 start: datetime, end: datetime, names: set[str]) -> None:
        self.w, self.rng, self.staff = w, rng, staff
        self.start, self.end = start, end
        self.theta = rng.betavariate(5, 2)
        self.region = rng.choices(list(REGIONS), REGION_WEIGHTS)[0]
        self.team = rng.choice(list(TEAMS))
        self.rep = rng.choice(staff.reps[self.team])
        self.industry = rng.choice(list(INDUSTRIES))
        self.name = self._company_name(index, names)
        self.terms, self.terms_days = rng.choices(TERMS, TERM_WEIGHTS)[0]
        self.order_scale = math.exp(rng.gauss(math.log(20000), 1.0))
        self.lines = rng.sample(PRODUCT_LINES, rng.choice([1, 1, 2, 2, 3]))
        self.outstanding: dict[str, Decimal] = {}
        self.contacts: list[str] = []
        # The relationship began somewhere in the last five years; churners stop
        # ordering somewhere in the window (more likely the less reliable they are).
        self.since = (end - timedelta(days=rng.randint(60, 365 * 5))).date()
        self.first_day = max(start, datetime.combine(self.since, time(2), UTC))
        churn_p = 0.35 * (1 - self.theta) ** 1.5 + 0.02
        self.churn_at = (self.first_day + timedelta(days=rng.randint(
            60, max(61, (end - self.first_day).days))) if rng.random() < churn_p else None)

    def _company_name(self, index: int, names: set[str]) -> str:
        city = self.rng.choice(REGIONS[self.region][2])
        for _ in range(20):
            core = "".join(self.rng.sample(NAME_WORDS, 2))
            name = f"{city}{core}{self.rng.choice(INDUSTRIES[self.industry])}" \
                   f"{self.rng.choice(SUFFIXES)}"
            if name not in names:
                names.add(name)
                return name
        name = f"{city}{index}号{self.rng.choice(INDUSTRIES[self.industry])}有限公司"
        names.add(name)
        return name

    # -- time helpers
    def day_between(self, a: datetime, b: datetime) -> date:
        span = max(0, (b - a).days)
        return (a + timedelta(days=self.rng.randint(0, span))).date()

    def active_until(self) -> datetime:
        return self.churn_at or self.end

    # -- the story
    def write(self) -> None:
        cid = self._customer()
        self.cid = cid
        self._leads()
        for _ in range(self.rng.choice([2, 2, 3, 3, 3])):
            self._contact()
        events = self._plan()
        events.sort(key=lambda e: e[0])
        for at, action in events:
            if at <= self.end:
                action(at)

    def _customer(self) -> str:
        limit = Decimal(round(self.order_scale * (4 + 8 * self.theta), -4) or 10000)
        data: dict[str, Any] = {
            "name": self.name, "credit_code": uscc(self.rng, REGIONS[self.region][1]),
            "industry": self.industry, "region": self.region,
            "level": self.rng.choices(["strategic", "key", "normal"], [0.05, 0.2, 0.75])[0],
            "account_manager": self.rep, "sales_team": self.team,
            "product_lines": self.lines,
            "source": self.rng.choices(SOURCES, SOURCE_WEIGHTS)[0],
            "since": self.since.isoformat(), "credit_limit": money(limit),
            "payment_terms": self.terms,
            "tags": self.rng.sample(["vip", "listed", "soe", "watch"], self.rng.choice([0, 0, 1]))}
        if self.churn_at is not None and self.churn_at < self.end - timedelta(days=200):
            data["churned"] = self.rng.random() < 0.5
        return self.w.create("customer", data, by=self.rep, owner=self.rep, at=self.first_day)

    def _contact(self) -> None:
        first = len(self.contacts) == 0
        data = {"customer": self.cid, "name": person(self.rng),
                "job_title": self.rng.choice(TITLES),
                "role": self.rng.choice(["decision_maker", "influencer", "user", "finance"]),
                "mobile": mobile(self.rng),
                "email": f"contact{self.rng.randint(1, 99999)}@example.cn",
                "is_primary": first}
        self.contacts.append(self.w.create("contact", data, by=self.rep, owner=self.rep))

    def _leads(self) -> None:
        """Four leads: the one this customer came from, three others of the team."""
        count = 4 if self.rng.random() < 0.6 else self.rng.choice([3, 5])
        for n in range(count):
            if self.rng.random() < 0.06:
                created = self.end - timedelta(days=self.rng.uniform(1.5, 6))
            else:
                created = work_time(self.rng, self.day_between(
                    self.start, self.end - timedelta(days=7)))
            if n == 0:
                created = max(self.start, self.first_day - timedelta(days=20))
            if created > self.end:
                continue
            age = (self.end - created).days
            roll = self.rng.random()
            other = (f"{self.rng.choice(REGIONS[self.region][2])}"
                     f"{''.join(self.rng.sample(NAME_WORDS, 2))}"
                     f"{self.rng.choice(INDUSTRIES[self.industry])}有限公司")
            data: dict[str, Any] = {
                "company": self.name if n == 0 else other,
                "contact_name": person(self.rng), "mobile": mobile(self.rng),
                "region": self.region, "sales_team": self.team,
                "source": self.rng.choices(SOURCES, SOURCE_WEIGHTS)[0]}
            if n == 0:  # the lead this customer was won from
                data |= {"in_pool": False, "assigned_to": self.rep, "status": "converted",
                         "assigned_at": iso(created), "customer": self.cid,
                         "last_contact_at": iso(min(self.end, created + timedelta(days=1)))}
            elif age <= 6 and roll < 0.5:
                # a fresh assignment: some are still untouched after three days
                data |= {"in_pool": False, "assigned_to": self.rep, "status": "assigned",
                         "assigned_at": iso(created)}
            elif roll < 0.25:
                data |= {"in_pool": True, "status": "new"}
            elif roll < 0.35:
                data |= {"in_pool": True, "status": "recalled", "recall_count": 1,
                         "previous_owner": self.rng.choice(self.staff.reps[self.team])}
            elif roll < 0.6:
                data |= {"in_pool": False, "status": "lost", "lost_reason": "预算不足",
                         "assigned_to": self.rep, "assigned_at": iso(created),
                         "last_contact_at": iso(created + timedelta(days=1))}
            elif age > 30:  # old leads are settled one way or the other
                data |= {"in_pool": True, "status": "recalled", "recall_count": 1,
                         "previous_owner": self.rep} if roll < 0.8 else {
                    "in_pool": False, "status": "lost", "lost_reason": "无采购计划",
                    "assigned_to": self.rep, "assigned_at": iso(created)}
            else:
                data |= {"in_pool": False, "assigned_to": self.rep, "assigned_at": iso(created),
                         "status": self.rng.choice(["contacted", "qualified"]),
                         "last_contact_at": iso(min(self.end, created + timedelta(
                             days=self.rng.randint(0, 2))))}
            self.w.create("lead", data, by=self.staff.directors[self.team], owner=self.rep,
                          at=created)

    def _plan(self) -> list[tuple[datetime, Callable[[datetime], None]]]:
        events: list[tuple[datetime, Callable[[datetime], None]]] = []
        rng = self.rng
        until = self.active_until()
        # Deals, quotes and contracts.
        for _ in range(1 if rng.random() < 0.5 else 2):
            at = work_time(rng, self.day_between(self.first_day, until - timedelta(days=20)))
            events.append((at, self._deal))
        # Renewals and framework contracts signed without a tracked deal.
        for _ in range(poisson(rng, 0.9)):
            at = work_time(rng, self.day_between(self.first_day, until - timedelta(days=10)))
            line = rng.choice(self.lines)
            amount = Decimal(round(self.order_scale * rng.uniform(1, 4), -2) or 1000)
            events.append((at, self._renewal(line, amount)))
        # Orders: about five in the window for an active customer.
        months = max(1.0, (until - self.first_day).days / 30.4)
        for _ in range(poisson(rng, 6.0 * months / 24 * (0.6 + 0.6 * self.theta))):
            day = self.day_between(self.first_day, until)
            if seasonal_ok(rng, day):
                events.append((work_time(rng, day), self._order))
        # Customers who have not churned mostly bought recently (≈ 8 % trip the
        # "no order for 3 months" warning, research brief §5).
        if self.churn_at is None and rng.random() < 0.9:
            day = self.day_between(max(self.first_day, self.end - timedelta(days=75)), self.end)
            events.append((work_time(rng, day), self._order))
        # Tickets: unreliable customers raise more, and complain more.
        for _ in range(poisson(rng, 3.0 * (1.6 - self.theta))):
            at = work_time(rng, self.day_between(self.first_day, self.end))
            events.append((at, self._ticket))
        # Interactions all along the relationship.
        for _ in range(poisson(rng, 27 * min(1.0, months / 20 + 0.3))):
            at = work_time(rng, self.day_between(self.first_day, until))
            events.append((at, self._interaction))
        # Call-backs we promised.
        for _ in range(poisson(rng, 2.0)):
            at = work_time(rng, self.day_between(self.first_day, self.end))
            events.append((at, self._callback))
        return events

    def _renewal(self, line: str, amount: Decimal) -> Callable[[datetime], None]:
        def sign(at: datetime) -> None:
            self._contract(at, None, line, amount)
        return sign

    def _deal(self, at: datetime) -> None:
        rng = self.rng
        line = rng.choice(self.lines)
        amount = Decimal(round(self.order_scale * rng.uniform(2, 6), -2) or 1000)
        reached = rng.choices([1, 2, 3, 4, 5, 6], [0.25, 0.2, 0.15, 0.1, 0.08, 0.22])[0]
        age = (self.end - at).days
        stages = ["qualification", "demo", "proposal", "negotiation", "closing", "won"]
        lost = reached < 6 and age > 60 and rng.random() < 0.7
        data: dict[str, Any] = {
            "name": f"{self.name[:8]}{['采购', '升级', '扩容', '续约'][rng.randint(0, 3)]}项目",
            "customer": self.cid, "amount": money(amount), "product_line": line,
            "expected_close": (at + timedelta(days=rng.randint(20, 90))).date().isoformat(),
            "reached_rank": reached}
        if lost:
            data |= {"stage": "lost", "lost_reason": rng.choice(["价格", "竞品", "需求取消"]),
                     "closed_on": (at + timedelta(days=rng.randint(10, 60))).date().isoformat()}
        else:
            data["stage"] = stages[reached - 1]
            if reached == 6:
                data["closed_on"] = (at + timedelta(days=rng.randint(10, 60))).date().isoformat()
        opp = self.w.create("opportunity", data, by=self.rep, owner=self.rep, at=at)
        if reached >= 3:
            self._quote(at + timedelta(days=rng.randint(3, 15)), opp, line, amount)
        if reached == 6 and not lost:
            self._contract(at + timedelta(days=rng.randint(15, 45)), opp, line, amount)

    def _quote(self, at: datetime, opp: str, line: str, amount: Decimal) -> None:
        if at > self.end:
            return
        item, price = self.rng.choice(PRODUCT_ITEMS[line])
        qty = max(1, int(amount / price))
        discount = self.rng.choices([0, 0.05, 0.1, 0.15, 0.2, 0.35],
                                    [0.3, 0.2, 0.2, 0.15, 0.1, 0.05])[0]
        status = "accepted" if discount <= 0.15 else self.rng.choice(["approved", "rejected"])
        self.w.create("quote", {
            "customer": self.cid, "opportunity": opp, "discount": discount, "status": status,
            "lines": [{"product_line": line, "item": item, "qty": qty, "price": money(price)}],
            "valid_until": (at + timedelta(days=30)).date().isoformat()},
            by=self.rep, owner=self.rep, at=at)

    def _contract(self, at: datetime, opp: str | None, line: str, amount: Decimal) -> None:
        rng = self.rng
        if at > self.end:
            return
        signed = at.date()
        due = signed + timedelta(days=rng.randint(20, 90))
        data: dict[str, Any] = {
            "title": f"{self.name[:10]}{line}合同", "customer": self.cid,
            "amount": money(amount), "product_line": line, "payment_terms": self.terms,
            "signed_on": signed.isoformat(), "delivery_due": due.isoformat(), "status": "signed"}
        if opp is not None:
            data["opportunity"] = opp
        contract = self.w.create("contract", data, by=self.rep, owner=self.rep, at=at)
        # Our delivery promise: 85 % kept, 10 % late, 5 % broken (research brief §5).
        roll = rng.random()
        delivered: date | None
        if roll < 0.85:
            delivered = due - timedelta(days=rng.randint(0, 10))
        elif roll < 0.95:
            delivered = due + timedelta(days=rng.randint(1, 20))
        else:
            delivered = None
        due_at = datetime.combine(due, time(10), UTC)
        commitment = self.w.create("commitment", {
            "title": f"按合同交付 {line}", "customer": self.cid, "party": "ours",
            "made_by": self.rep, "channel": "contract", "type": "delivery",
            "due_at": iso(due_at), "contract": contract}, by=self.rep, owner=self.rep, at=at)
        end = self.end
        if delivered is not None and datetime.combine(delivered, time(10), UTC) <= end:
            when = datetime.combine(delivered, time(10), UTC)
            self.w.update("contract", contract, {"status": "fulfilled",
                                                 "delivered_on": delivered.isoformat()},
                          by=self.rep, at=when)
            self.w.update("commitment", commitment, {
                "status": "kept" if delivered <= due else "kept_late",
                "fulfilled_at": iso(when), "evidence": "客户签收单"}, by=self.rep, at=when)
        elif due_at < end:
            self.w.update("commitment", commitment, {
                "status": "broken", "breach_reason": "供应商缺货导致延期"},
                by=self.rep, at=due_at + timedelta(hours=1))
            self.w.update("contract", contract, {"status": "delivering"}, by=self.rep,
                          at=due_at + timedelta(hours=1))

    def _order(self, at: datetime) -> None:
        rng = self.rng
        line = rng.choice(self.lines)
        item, price = rng.choice(PRODUCT_ITEMS[line])
        value = math.exp(rng.gauss(math.log(self.order_scale), 0.6))
        qty = max(1, int(value / price))
        amount = Decimal(money(price)) * qty
        outstanding = sum(self.outstanding.values(), Decimal(0))
        limit = Decimal(round(self.order_scale * (4 + 8 * self.theta), -4) or 10000)
        order = self.w.create("order", {
            "customer": self.cid, "order_date": at.date().isoformat(), "product_line": line,
            "lines": [{"item": item, "qty": qty, "price": money(price)}],
            "limit_override": outstanding + amount > limit,  # finance approved it
            "status": "completed" if (self.end - at).days > 30 else "confirmed"},
            by=self.rep, owner=self.rep, at=at)
        self._invoice(at + timedelta(days=1), order, amount)

    def _invoice(self, at: datetime, order: str, amount: Decimal) -> None:
        rng = self.rng
        if at > self.end:
            return
        issue = at.date()
        due = issue + timedelta(days=self.terms_days)
        finance = rng.choice(self.staff.finance)
        inv = self.w.create("invoice", {
            "customer": self.cid, "order": order, "amount": money(amount),
            "issue_date": issue.isoformat(), "due_date": due.isoformat(),
            "as_of": issue.isoformat()}, by=finance, owner=self.rep, at=at)
        self.outstanding[inv] = amount
        # How late this customer pays: reliable customers mostly on time or early;
        # overall ≈ 55 % on time, 30 % 1-30 days late, 10 % 31-90, 4 % 91-180, 1 % never.
        if rng.random() < 0.22 + 0.5 * self.theta:
            late = rng.randint(-12, 0)
        else:
            late = 1 + int(rng.expovariate(1 / (6 + 55 * (1 - self.theta) ** 1.3)))
        if (late > 150 and rng.random() < 0.5) or (self.theta < 0.45 and rng.random() < 0.08):
            late = 10_000  # written off: never paid
        pay_day = due + timedelta(days=late)
        if late > 0 and rng.random() < 0.7:
            self._promise_to_pay(inv, due, late, finance)
        if pay_day > self.end.date():
            self._age(inv, issue)
            return
        parts = 2 if rng.random() < 0.12 else 1
        paid = Decimal(0)
        for k in range(parts):
            part = amount - paid if k == parts - 1 else (amount * Decimal("0.4")).quantize(
                Decimal("0.01"))
            day = pay_day - timedelta(days=(parts - 1 - k) * rng.randint(5, 20))
            when = work_time(rng, max(day, issue))
            self.w.create("payment", {"invoice": inv, "amount": money(part),
                                      "paid_on": when.date().isoformat(),
                                      "method": rng.choice(["transfer", "transfer", "acceptance",
                                                            "online"])},
                          by=finance, owner=self.rep, at=when)
            paid += part
            patch: dict[str, Any] = {"paid_amount": money(paid), "as_of": when.date().isoformat()}
            if paid >= amount:
                patch["paid_date"] = when.date().isoformat()
            self.w.update("invoice", inv, patch, by=finance, at=when)
        self.outstanding.pop(inv, None)

    def _age(self, inv: str, issue: date) -> None:
        """An invoice still open at the end: its ageing is as of the last day."""
        self.w.update("invoice", inv, {"as_of": self.end.date().isoformat()},
                      by=self.staff.finance[0], at=self.end)

    def _promise_to_pay(self, inv: str, due: date, late: int, finance: str) -> None:
        rng = self.rng
        asked = due + timedelta(days=min(late, rng.randint(3, 20)))
        promised = asked + timedelta(days=rng.randint(3, 15))
        pay_day = due + timedelta(days=late)
        when = work_time(rng, asked)
        if when > self.end:
            return
        status: dict[str, Any]
        promised_at = datetime.combine(promised, time(10), UTC)
        if pay_day <= promised:
            status = {"status": "kept", "fulfilled_at": iso(work_time(rng, pay_day))}
        elif pay_day <= promised + timedelta(days=10) and pay_day <= self.end.date():
            status = {"status": "kept_late", "fulfilled_at": iso(work_time(rng, pay_day))}
        elif promised_at < self.end:
            status = {"status": "broken", "breach_reason": "客户未按承诺付款"}
        else:
            status = {}
        cid = self.w.create("commitment", {
            "title": "客户承诺付款", "customer": self.cid, "party": "customer",
            "made_by": self.rep, "channel": rng.choice(["phone", "wechat", "email"]),
            "type": "promise_to_pay", "due_at": iso(promised_at), "invoice": inv},
            by=finance, owner=self.rep, at=when)
        if status:
            if status["status"] == "broken":
                at = min(self.end, promised_at + timedelta(hours=1))
            else:
                at = min(self.end, datetime.fromisoformat(
                    status["fulfilled_at"].replace("Z", "+00:00")))
            self.w.update("commitment", cid, status, by=finance, at=max(at, when))

    def _ticket(self, at: datetime) -> None:
        rng = self.rng
        complaint = rng.random() < 0.08 + 0.25 * (1 - self.theta)
        kind = "complaint" if complaint else rng.choice(["consultation", "fault", "request"])
        priority = rng.choices(["low", "medium", "high", "urgent"], [0.25, 0.45, 0.22, 0.08])[0]
        handler = rng.choice(self.staff.service)
        data: dict[str, Any] = {
            "subject": rng.choice(SUBJECTS[kind]), "customer": self.cid, "type": kind,
            "priority": priority, "product_line": rng.choice(self.lines),
            "description": "客户反馈：" + rng.choice(SUBJECTS[kind]), "opened_at": iso(at),
            "handler": handler}
        if self.contacts:
            data["contact"] = rng.choice(self.contacts)
        ticket = self.w.create("ticket", data, by=handler, owner=self.rep, at=at)
        respond_limit = 0.5 if kind == "complaint" or priority == "urgent" else \
            {"high": 2, "medium": 8, "low": 24}[priority]
        resolve_limit = 24 if kind == "complaint" else \
            {"urgent": 8, "high": 16, "medium": 40, "low": 80}[priority]
        respond_h = respond_limit * rng.uniform(0.1, 0.9 if rng.random() < 0.9 else 1.6)
        resolve_h = resolve_limit * rng.uniform(0.2, 0.95 if rng.random() < 0.85 else 1.8)
        if kind == "complaint" or priority == "urgent":  # round the clock
            responded = at + timedelta(hours=respond_h)
            resolved = at + timedelta(hours=max(resolve_h, respond_h + 0.1))
        else:  # the SLA clock of the app's working calendar (ticket.json)
            responded = self.w.working_after(at, respond_h)
            resolved = self.w.working_after(at, max(resolve_h, respond_h + 0.1))
        promise = None
        if kind == "complaint":
            promise = self.w.create("commitment", {
                "title": "解决投诉", "customer": self.cid, "party": "ours", "made_by": handler,
                "channel": "ticket", "type": "resolution",
                "due_at": iso(at + timedelta(hours=24)), "ticket": ticket},
                by=handler, owner=self.rep, at=at)
        if responded > self.end:
            return
        self.w.update("ticket", ticket, {"status": "responded", "responded_at": iso(responded)},
                      by=handler, at=responded)
        if resolved > self.end:
            return
        satisfaction = max(1, min(5, round(2 + 3 * self.theta + rng.gauss(0, 0.8)
                                           - (1 if resolve_h > resolve_limit else 0))))
        self.w.update("ticket", ticket, {
            "status": "closed", "resolved_at": iso(resolved), "solution": "已远程处理并确认恢复",
            "resolution_hours": round((resolved - at).total_seconds() / 3600, 2),
            "satisfaction": satisfaction}, by=handler, at=resolved)
        if promise is not None:
            self.w.update("commitment", promise, {
                "status": "kept" if resolve_h <= 24 else "kept_late",
                "fulfilled_at": iso(resolved)}, by=handler, at=resolved)
        if rng.random() < 0.4:
            self._survey(resolved + timedelta(days=1), ticket, satisfaction)

    def _survey(self, at: datetime, ticket: str | None, csat: int) -> None:
        if at > self.end:
            return
        nps = max(0, min(10, round(csat * 2 + self.rng.gauss(0, 1.2))))
        self.w.create("survey", {
            "customer": self.cid, "ticket": ticket, "answered_on": at.date().isoformat(),
            "channel": self.rng.choice(["sms", "wechat", "phone", "email"]), "csat": csat,
            "nps": nps if self.rng.random() < 0.8 else None},
            by=self.rng.choice(self.staff.service), owner=self.rep, at=at)

    def _interaction(self, at: datetime) -> None:
        rng = self.rng
        kind = rng.choices(["call", "visit", "email", "wechat", "meeting"],
                           [0.35, 0.15, 0.2, 0.25, 0.05])[0]
        data: dict[str, Any] = {
            "customer": self.cid, "kind": kind, "at": iso(at),
            "direction": "outbound" if rng.random() < 0.75 else "inbound",
            "summary": rng.choice(INTERACTION_SUMMARIES[kind]),
            "duration_min": rng.randint(3, 90)}
        if self.contacts:
            data["contact"] = rng.choice(self.contacts)
        self.w.create("interaction", data, by=self.rep, owner=self.rep, at=at)
        if rng.random() < 0.02:
            self._survey(at + timedelta(days=2), None,
                         max(1, min(5, round(2 + 3 * self.theta + rng.gauss(0, 0.8)))))

    def _callback(self, at: datetime) -> None:
        rng = self.rng
        due = at + timedelta(days=rng.randint(1, 5))
        cid = self.w.create("commitment", {
            "title": "回电确认需求", "customer": self.cid, "party": "ours", "made_by": self.rep,
            "channel": rng.choice(["phone", "wechat"]), "type": "callback", "due_at": iso(due)},
            by=self.rep, owner=self.rep, at=at)
        roll = rng.random()
        if roll < 0.85:
            done = due - timedelta(hours=rng.randint(1, 20))
            patch: dict[str, Any] = {"status": "kept", "fulfilled_at": iso(max(done, at))}
        elif roll < 0.95:
            done = due + timedelta(hours=rng.randint(2, 48))
            patch = {"status": "kept_late", "fulfilled_at": iso(done)}
        else:
            done = due + timedelta(hours=1)
            patch = {"status": "broken", "breach_reason": "忘记回电"}
        if done <= self.end:
            self.w.update("commitment", cid, patch, by=self.rep, at=max(done, at))


# ------------------------------------------------------------------------------ entry

def generate(writer: Writer, *, customers: int = 1000, seed: int = 1,
             progress: Callable[[int, int], None] | None = None) -> None:
    """Write `customers` customers with 24 months of history ending now."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    end = writer.now()
    start = end - timedelta(days=HISTORY_DAYS)
    writer.at(start)
    staff = make_staff(writer, rng, customers)
    make_articles(writer, rng, start, staff)
    names: set[str] = set()
    for i in range(customers):
        sub = random.Random(rng.getrandbits(64))  # noqa: S311 - one stream per customer
        CustomerHistory(writer, sub, staff, index=i,
                        start=start, end=end, names=names).write()
        if progress is not None:
            progress(i + 1, customers)
    writer.at(end)
