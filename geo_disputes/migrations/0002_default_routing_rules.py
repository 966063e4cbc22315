"""Default routing rules encoding the seed (乡安五事): 小事不出村、大事不出镇、矛盾不上交.

Order matters; the first active matching rule wins. Read top-down:
  10 legacy → banner; 20 spanning ≥2 townships → banner;
  30 land-contract/land-swap and mining compensation inside a mining area → mining court with
     natural resources, forestry & grassland, energy, justice;
  40 spanning ≥2 villages → township;
  45 neighbour/family disputes of ≤2 households → village (a two-household quarrel is still a
     village matter: the seed's 沙圪堵镇 neighbours);
  50 ≥2 households → township (the 41 cracked houses of 苏计沟村);
  55 ≥2 departments → township;
  60 one-household village matters → village (grassland occupied; water-fee arrears);
 100 catch-all → township.
Each rule's creation is kept in RoutingRuleChange (action "seed"), like any admin edit.
"""

from django.db import migrations

RULES = [
    {
        "order": 10,
        "name": "历史遗留疑难问题 旗领导包案",
        "legacy": True,
        "tier": "banner",
        "explanation": "历史遗留的疑难复杂问题由旗信访工作联席会议逐一制定方案,旗领导包案化解(闭环议事)。",
    },
    {
        "order": 20,
        "name": "跨乡镇事项 旗级统筹",
        "min_townships": 2,
        "tier": "banner",
        "explanation": "涉及两个以上苏木乡镇的事项由共同上级(旗)统筹(信访工作条例第二十四条)。",
    },
    {
        "order": 30,
        "name": "矿区内土地承包/换地及征地补偿纠纷",
        "categories": ["land_contract", "mining_compensation"],
        "mining": "inside",
        "tier": "mining_court",
        "partner_departments": ["natural_resources", "forestry_grassland", "energy", "justice"],
        "explanation": "涉矿纠纷由矿区法庭会同自然资源、林草、能源、司法等部门联动化解(联动办事;3起换地纠纷)。",
    },
    {
        "order": 40,
        "name": "跨村事项 乡镇协调",
        "min_villages": 2,
        "tier": "township",
        "explanation": "涉及多个嘎查村的事项由苏木乡镇(街道)党(工)委书记协调(书记理事)。",
    },
    {
        "order": 45,
        "name": "两户以内邻里、家庭纠纷 村内化解",
        "categories": ["neighbour", "family"],
        "max_households": 2,
        "tier": "village",
        "explanation": "邻里、家庭纠纷即使涉及两户,也是村内小事(沙圪堵镇两户邻里纠纷;小事不出村)。",
    },
    {
        "order": 50,
        "name": "多户事项 乡镇办理",
        "min_households": 2,
        "tier": "township",
        "explanation": "涉及多户的事项由乡镇办理(苏计沟村41户房屋裂缝,街道党工委书记协调住建、司法;大事不出镇)。",
    },
    {
        "order": 55,
        "name": "多部门事项 乡镇办理",
        "min_departments": 2,
        "tier": "township",
        "explanation": "涉及多个部门的事项由苏木乡镇(街道)党(工)委书记主动协调推动。",
    },
    {
        "order": 60,
        "name": "一户村内小事 村级化解",
        "categories": ["land_occupation", "utilities", "neighbour", "family", "labour", "environment", "other"],
        "max_households": 1,
        "tier": "village",
        "explanation": "一户的村内事项在说事室、由代办员就地化解(双敖包村草地被占;不拉村欠水费停水;小事不出村)。",
    },
    {
        "order": 100,
        "name": "兜底 乡镇办理",
        "tier": "township",
        "explanation": "其余事项由乡镇办理,必要时上报旗级。",
    },
]

FIELDS = (
    "order",
    "name",
    "active",
    "categories",
    "mining",
    "min_households",
    "max_households",
    "min_departments",
    "min_townships",
    "min_villages",
    "legacy",
    "tier",
    "partner_departments",
    "explanation",
)


def create_rules(apps, schema_editor):
    RoutingRule = apps.get_model("geo_disputes", "RoutingRule")
    RoutingRuleChange = apps.get_model("geo_disputes", "RoutingRuleChange")
    for spec in RULES:
        rule = RoutingRule.objects.create(**spec)
        snapshot = {"id": rule.pk, **{f: getattr(rule, f) for f in FIELDS}}
        RoutingRuleChange.objects.create(rule=rule, action="seed", snapshot=snapshot)


def delete_rules(apps, schema_editor):
    RoutingRule = apps.get_model("geo_disputes", "RoutingRule")
    RoutingRuleChange = apps.get_model("geo_disputes", "RoutingRuleChange")
    for spec in RULES:
        rules = RoutingRule.objects.filter(order=spec["order"], name=spec["name"])
        RoutingRuleChange.objects.filter(rule__in=rules, action="seed").delete()
        rules.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("geo_disputes", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_rules, delete_rules),
    ]
