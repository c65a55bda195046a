"""Static reference data the generator draws from: cities, menu, names, hour profiles."""

from __future__ import annotations

# (store code prefix, city, districts used in masked delivery addresses, store landmarks)
CITIES: list[tuple[str, str, list[str], list[str]]] = [
    ("SH", "上海", ["上海市黄浦区", "上海市徐汇区", "上海市静安区", "上海市浦东新区", "上海市长宁区"],
     ["人民广场", "徐家汇", "静安寺", "陆家嘴", "中山公园", "五角场", "南京西路", "七宝"]),
    ("HZ", "杭州", ["杭州市西湖区", "杭州市上城区", "杭州市拱墅区", "杭州市滨江区"],
     ["西湖", "湖滨银泰", "武林广场", "滨江宝龙", "城西银泰"]),
    ("BJ", "北京", ["北京市朝阳区", "北京市海淀区", "北京市东城区", "北京市西城区"],
     ["三里屯", "中关村", "王府井", "西单", "望京", "国贸"]),
    ("SZ", "深圳", ["深圳市南山区", "深圳市福田区", "深圳市罗湖区"],
     ["海岸城", "福田CBD", "东门", "科技园", "万象天地"]),
    ("GZ", "广州", ["广州市天河区", "广州市越秀区", "广州市海珠区"],
     ["天河城", "北京路", "珠江新城", "江南西"]),
    ("NJ", "南京", ["南京市鼓楼区", "南京市秦淮区", "南京市玄武区"],
     ["新街口", "夫子庙", "河西万达", "鼓楼"]),
    ("SU", "苏州", ["苏州市姑苏区", "苏州市工业园区"], ["观前街", "金鸡湖", "石路", "印象城"]),
    ("CD", "成都", ["成都市锦江区", "成都市武侯区", "成都市青羊区"], ["春熙路", "太古里", "宽窄巷子", "环球中心"]),
]

# (sku, name, unit price in fen): a tea-drink and bakery menu
MENU: list[tuple[str, str, int]] = [
    ("T001", "多肉葡萄", 1900), ("T002", "芝芝莓莓", 2900), ("T003", "杨枝甘露", 2175),
    ("T004", "芝士奶盖", 2600), ("T005", "满杯红柚", 1800), ("T006", "烤黑糖波波牛乳", 1900),
    ("T007", "椰椰芒芒", 2200), ("T008", "纯绿妍茶后", 1200), ("T009", "金凤茶王", 1500),
    ("T010", "酷黑莓桑", 2500), ("T011", "清爽芭乐提", 2300), ("T012", "美式咖啡", 1600),
    ("B010", "软欧包", 1200), ("B011", "可颂", 1000), ("B012", "抹茶麻薯", 1400),
    ("B013", "肉松小贝", 850), ("B014", "葡式蛋挞", 800), ("B015", "芋泥蛋糕卷", 2200),
    ("B016", "生日蛋糕6寸", 16800), ("B017", "礼盒装月饼", 12800),
]
# relative popularity of each menu item (cakes and gift boxes are rare)
MENU_WEIGHTS: list[float] = [10, 9, 8, 7, 7, 6, 6, 5, 5, 4, 4, 4, 6, 5, 4, 4, 5, 3, 0.4, 0.3]

SURNAMES: list[str] = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢")

# mobile prefixes of real persons (199 is reserved for store numbers, 170 for privacy numbers)
PHONE_PREFIXES: list[int] = [
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    166, 171, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 191, 198,
]

# the default phone blocklist of the pipeline (SPEC §11): cashiers type these for "no phone"
PLACEHOLDER_PHONES: list[str] = ["13800000000", "13800138000", "13888888888", "18888888888", "13900000000"]

PAY_EN: list[str] = ["wechat", "alipay", "cash", "unionpay", "card", "stored_value"]
PAY_ZH: list[str] = ["微信", "支付宝", "现金", "银联", "会员卡", "储值"]
WECHAT, ALIPAY, CASH, UNIONPAY, CARD, STORED_VALUE = range(6)

# relative order volume by local hour of day, per channel: peaks at lunch and in the afternoon
HOURS_POS = [0, 0, 0, 0, 0, 0, 0, 2, 3, 3, 4, 8, 10, 8, 7, 8, 7, 6, 6, 5, 4, 3, 2, 0]
HOURS_DELIVERY = [0.6, 0.4, 0.2, 0.05, 0.05, 0.05, 0.1, 0.5, 1, 1.5, 3, 9, 10, 7, 6, 7, 6, 6, 8, 7, 5, 4,
                  3, 1.5]
HOURS_MINIPROGRAM = [0.3, 0.15, 0.05, 0.02, 0.02, 0.05, 0.4, 3, 4, 3, 4, 8, 9, 7, 7, 8, 7, 6, 6, 5, 4, 3,
                     1.5, 0.8]

# relative order volume by weekday (Monday = 0)
WEEKDAY_WEIGHTS = [0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 1.25]

COUPONS: list[tuple[str, int]] = [("C-NEW-10", 1000), ("C-MEM-5", 500), ("C-BDAY-20", 2000), ("C-WEEK-3", 300),
                                  ("C-FULL-8", 800)]

REGISTER_SOURCES: list[str] = ["store_recruit", "natural", "referral", "fission", "returning"]
REGISTER_SOURCE_WEIGHTS: list[float] = [0.35, 0.30, 0.15, 0.10, 0.10]
