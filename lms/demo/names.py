"""Synthetic Chinese names: common surnames by rough frequency, gendered given-name characters,
and a sprinkling of uncommon characters outside GB2312 (堃, 喆, 玥, 赟 …) that fonts and forms must
handle. All BMP characters."""

from __future__ import annotations

import random
from itertools import accumulate

#: (surname, relative weight), roughly following their frequency in Shandong.
SURNAMES = (
    ("王", 95), ("张", 80), ("李", 78), ("刘", 60), ("孙", 32), ("杨", 28), ("陈", 26), ("徐", 22),
    ("赵", 22), ("高", 20), ("马", 16), ("于", 16), ("朱", 14), ("董", 12), ("宋", 12), ("郭", 12),
    ("杜", 10), ("韩", 10), ("吴", 10), ("周", 10), ("胡", 9), ("许", 9), ("林", 8), ("何", 7),
    ("崔", 8), ("姜", 8), ("曹", 7), ("袁", 6), ("田", 7), ("邵", 6), ("孟", 7), ("庞", 4),
    ("颜", 4), ("孔", 5), ("薛", 5), ("魏", 6), ("丁", 6), ("冯", 6), ("蒋", 4), ("谢", 4),
    ("鲁", 4), ("尹", 4), ("侯", 4), ("秦", 4), ("葛", 4), ("范", 4), ("梁", 4), ("潘", 3),
    ("石", 4), ("史", 4), ("房", 3), ("时", 3), ("伏", 2), ("厉", 2), ("仲", 2), ("卞", 2),
    ("亓", 1), ("逄", 1), ("禚", 1), ("郄", 1), ("甯", 1), ("诸葛", 1), ("欧阳", 1),
)

MALE_CHARS = (
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富"
    "顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河"
    "哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧"
    "冠策腾楠榕风航弘"
)
FEMALE_CHARS = (
    "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡"
    "佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚"
    "苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔"
    "枝思丽"
)
#: Uncommon characters outside GB2312, used in a few percent of given names.
RARE_CHARS = "堃喆玥赟珺祎犇彧昇琤翀镕旻瑄琇璟暐玙"
RARE_SHARE = 0.04
TWO_CHAR_SHARE = 0.72

_SURNAME_LIST = [s for s, _w in SURNAMES]
_CUMULATIVE = list(accumulate(w for _s, w in SURNAMES))


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_LIST, cum_weights=_CUMULATIVE)[0]


def _given_char(rng: random.Random, female: bool) -> str:
    if rng.random() < RARE_SHARE:
        return rng.choice(RARE_CHARS)
    return rng.choice(FEMALE_CHARS if female else MALE_CHARS)


def full_name(rng: random.Random, female: bool) -> str:
    length = 2 if rng.random() < TWO_CHAR_SHARE else 1
    return surname(rng) + "".join(_given_char(rng, female) for _ in range(length))
